import { lpStream } from '@libp2p/utils'
import { WireError } from './errors.ts'
import { turn } from '../util/index.ts'
import type { Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { z } from 'zod'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Frames already buffered are read back to back in microtasks, which run before any timer or other
 * socket: a peer sending faster than its messages are handled (a provider's result batches, each
 * with a signature to check and rows to write) held the requester's API unanswered for seconds.
 * A reader lets the event loop turn once it has read for this long without doing so.
 */
const READ_TURN_MS = 10

/** Parses one frame as JSON and checks it against `schema`; every failure is a WireError. */
export function decodeFrame<S extends z.ZodType> (bytes: Uint8Array, schema: S, maxBytes: number): z.infer<S> {
  if (bytes.byteLength > maxBytes) throw new WireError('oversized', `frame of ${bytes.byteLength} bytes exceeds the ${maxBytes}-byte limit`)
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (error) {
    throw new WireError('malformed', `frame is not UTF-8 JSON: ${(error as Error).message}`)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const detail = parsed.error.issues.slice(0, 3).map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
    throw new WireError('schema', `message does not match its schema: ${detail}`)
  }
  return parsed.data
}

export function encodeFrame (message: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

/**
 * A libp2p stream carrying length-prefixed JSON messages, each bounded by `maxFrameBytes` before
 * it is buffered and validated against a schema before it is used.
 */
export class FramedStream<In extends z.ZodType> {
  readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly schema: In
  private readonly maxFrameBytes: number
  private turnedAt = performance.now()

  constructor (stream: Stream, schema: In, maxFrameBytes: number) {
    this.stream = stream
    this.schema = schema
    this.maxFrameBytes = maxFrameBytes
    // The read buffer must hold one whole frame, or a legitimate large frame would abort the stream.
    this.lp = lpStream(stream, { maxDataLength: maxFrameBytes, maxBufferSize: maxFrameBytes + 16 })
  }

  /** The next message; WireError('closed') at the end of the stream. */
  async read (options?: { signal?: AbortSignal }): Promise<z.infer<In>> {
    if (performance.now() - this.turnedAt > READ_TURN_MS) {
      await turn()
      this.turnedAt = performance.now()
    }
    let frame
    try {
      frame = await this.lp.read(options)
    } catch (error) {
      const name = (error as Error).name
      if (name === 'InvalidDataLengthError' || name === 'InvalidMessageLengthError' || name === 'InvalidDataLengthLengthError') {
        throw new WireError('oversized', `frame exceeds the ${this.maxFrameBytes}-byte limit`)
      }
      if (name === 'UnexpectedEOFError' || name === 'StreamResetError' || name === 'StreamClosedError' || name === 'StreamStateError') {
        throw new WireError('closed', 'the stream ended')
      }
      throw error
    }
    return decodeFrame(frame.subarray(), this.schema, this.maxFrameBytes)
  }

  async write (message: unknown): Promise<void> {
    const frame = encodeFrame(message)
    if (frame.byteLength > this.maxFrameBytes) throw new WireError('oversized', `refusing to send a ${frame.byteLength}-byte frame (limit ${this.maxFrameBytes})`)
    await this.lp.write(frame)
  }

  /** Tells the peer why we are hanging up, then closes; never throws. */
  async fail (error: WireError): Promise<void> {
    try {
      await this.write({ type: 'error', v: 1, code: error.code, message: error.message })
      await this.stream.close()
    } catch {
      this.stream.abort(error)
    }
  }

  async close (): Promise<void> {
    try {
      await this.stream.close()
    } catch (error) {
      this.stream.abort(error as Error)
    }
  }
}
