export class InvalidCidError extends Error {
  override readonly name = 'InvalidCidError'
  readonly cid: string
  constructor (cid: string, detail: string) {
    super(`"${cid}" is not a valid CID (${detail})`)
    this.cid = cid
  }
}

export class ContentNotFoundError extends Error {
  override readonly name = 'ContentNotFoundError'
  readonly cid: string
  constructor (cid: string, detail: string) {
    super(`could not read content ${cid}: ${detail}`)
    this.cid = cid
  }
}
