import { ConunError } from '../util/index.ts'

export class InvalidCidError extends ConunError {
  override readonly name = 'InvalidCidError'
  readonly code = 'invalid-cid'
  readonly kind = 'invalid'
  readonly cid: string
  constructor (cid: string, detail: string) {
    super(`"${cid}" is not a valid CID (${detail})`)
    this.cid = cid
  }
}

export class ContentNotFoundError extends ConunError {
  override readonly name = 'ContentNotFoundError'
  readonly code = 'content-not-found'
  readonly kind = 'not-found'
  readonly cid: string
  constructor (cid: string, detail: string) {
    super(`could not read content ${cid}: ${detail}`)
    this.cid = cid
  }
}

/** Content that declares, or turns out to take, more bytes than the fetch allowed for it. */
export class ContentTooLargeError extends ConunError {
  override readonly name = 'ContentTooLargeError'
  readonly code = 'content-too-large'
  readonly kind = 'too-large'
  readonly cid: string
  readonly maxBytes: number
  constructor (cid: string, maxBytes: number, detail: string) {
    super(`content ${cid} is over its ${maxBytes}-byte budget: ${detail}`)
    this.cid = cid
    this.maxBytes = maxBytes
  }
}

/** Content whose blocks are not a UnixFS file, or whose sizes disagree with what its nodes declare. */
export class InvalidDagError extends ConunError {
  override readonly name = 'InvalidDagError'
  readonly code = 'invalid-dag'
  readonly kind = 'invalid'
  readonly cid: string
  constructor (cid: string, detail: string) {
    super(`content ${cid} is not a well-formed file: ${detail}`)
    this.cid = cid
  }
}

/** The fetch's signal fired: no block is requested or kept after it. */
export class FetchAbortedError extends ConunError {
  override readonly name = 'FetchAbortedError'
  readonly code = 'fetch-aborted'
  readonly kind = 'cancelled'
  readonly cid: string
  constructor (cid: string, reason: unknown) {
    super(`fetching ${cid} was aborted${reason instanceof Error ? `: ${reason.message}` : ''}`)
    this.cid = cid
  }
}
