import { lpStream } from '@libp2p/utils'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { concatBytes, equalBytes } from '../util/index.ts'
import { openStream } from '../net/index.ts'
import { ContentNotFoundError, FetchAbortedError } from './errors.ts'
import { MAX_BLOCK_BYTES, readFileDag } from './readFileDag.ts'
import type { ReadBudget } from './readFileDag.ts'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'

/**
 * Direct block transfer from a peer known to hold the content (the requester holds a task's code
 * and inputs; a provider holds its outputs). One stream per transfer, requests pipelined and
 * answered in order, with backpressure end to end, so a large file streams at the speed of the
 * link in bounded memory. Bitswap remains the way to find content held by anyone else.
 */
export const PROTOCOL_BLOCKS = '/conun/blocks/1.0.0'

const MAX_REQUEST_BYTES = 256
const FOUND = 1
const MISSING = 0

/** Serves blocks of the local blockstore to any peer that asks; never fetches on their behalf. */
export async function serveBlocks (libp2p: Libp2p, blockstore: Pick<Blockstore, 'has' | 'get'>): Promise<void> {
  await libp2p.handle(PROTOCOL_BLOCKS, async stream => {
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES })
    try {
      while (true) {
        let request
        try {
          request = await lp.read()
        } catch {
          break // the peer is done (or sent something oversized): end this stream only
        }
        let block: Uint8Array | undefined
        try {
          const cid = CID.decode(request.subarray())
          if (await blockstore.has(cid)) block = await collect(blockstore.get(cid))
        } catch { /* not a CID we can serve */ }
        const found = block !== undefined && block.byteLength <= MAX_BLOCK_BYTES
        await lp.write(found ? concatBytes([Uint8Array.of(FOUND), block!]) : Uint8Array.of(MISSING))
      }
      await stream.close()
    } catch (error) {
      stream.abort(error as Error)
    }
  }, { maxInboundStreams: 64, runOnLimitedConnection: true })
}

/** A blockstore answer (bytes, or bytes in pieces) as one array. */
export async function collect (value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | Promise<Uint8Array>): Promise<Uint8Array> {
  const resolved = await value
  if (resolved instanceof Uint8Array) return resolved
  const chunks: Uint8Array[] = []
  for await (const chunk of resolved) chunks.push(chunk)
  return concatBytes(chunks)
}

/** Pipelined block requests to one peer over one stream; responses come back in request order. */
export class BlockSession {
  private readonly stream: Stream
  private readonly lp: ReturnType<typeof lpStream>
  private readonly pending: Array<{ cid: CID, resolve: (block: Uint8Array) => void, reject: (error: Error) => void }> = []
  private reading = false
  private failed: Error | undefined
  private readonly signal: AbortSignal | undefined
  private readonly onAbort = () => this.fail(new FetchAbortedError('blocks', this.signal?.reason))

  private constructor (stream: Stream, signal: AbortSignal | undefined) {
    this.stream = stream
    // Framing bytes on top of a block: a status byte and the length prefix.
    this.lp = lpStream(stream, { maxDataLength: MAX_BLOCK_BYTES + 16, maxBufferSize: 2 * MAX_BLOCK_BYTES + 64 })
    // Once the fetch is aborted, blocks still on their way are dropped with the stream.
    this.signal = signal
    signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  static async open (libp2p: Libp2p, peer: PeerId, signal?: AbortSignal): Promise<BlockSession> {
    const session = new BlockSession(await openStream(libp2p, peer, PROTOCOL_BLOCKS, { signal }), signal)
    if (signal?.aborted === true) session.onAbort()
    return session
  }

  /** The block's bytes, checked against its CID (sha-256 only). */
  get (cid: CID): Promise<Uint8Array> {
    if (this.failed !== undefined) return Promise.reject(this.failed)
    if (cid.multihash.code !== sha256.code) return Promise.reject(new ContentNotFoundError(cid.toString(), 'only sha-256 blocks move directly'))
    const answer = Promise.withResolvers<Uint8Array>()
    this.pending.push({ cid, resolve: answer.resolve, reject: answer.reject })
    this.lp.write(cid.bytes).catch(error => this.fail(error as Error))
    void this.readAnswers()
    return answer.promise
  }

  private async readAnswers (): Promise<void> {
    if (this.reading) return
    this.reading = true
    try {
      while (this.pending.length > 0) {
        const frame = (await this.lp.read()).subarray()
        const request = this.pending.shift()!
        if (frame[0] !== FOUND) {
          request.reject(new ContentNotFoundError(request.cid.toString(), 'the peer does not hold this block'))
          continue
        }
        const block = frame.subarray(1)
        // multiformats hashes with node:crypto on Node and WebCrypto in browsers (the browser provider).
        const { digest } = await sha256.digest(block)
        if (!equalBytes(request.cid.multihash.digest, digest)) {
          const error = new ContentNotFoundError(request.cid.toString(), 'the peer sent a block that does not match its CID')
          request.reject(error)
          throw error
        }
        request.resolve(block)
      }
    } catch (error) {
      this.fail(error as Error)
    } finally {
      this.reading = false
    }
  }

  private fail (error: Error): void {
    this.signal?.removeEventListener('abort', this.onAbort)
    if (this.failed !== undefined) return
    this.failed = error
    for (const request of this.pending.splice(0)) request.reject(error)
    this.stream.abort(error)
  }

  async close (): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort)
    if (this.failed !== undefined) return
    try {
      await this.stream.close()
    } catch (error) {
      this.stream.abort(error as Error)
    }
  }
}

/**
 * The bytes of content straight from a connected peer that holds it, block by block, each checked
 * against its CID and the budget: how a browser provider, which has no blockstore of its own,
 * fetches task code.
 */
export async function * readFromPeer (libp2p: Libp2p, peer: PeerId, cid: CID, budget: ReadBudget): AsyncGenerator<Uint8Array> {
  const session = await BlockSession.open(libp2p, peer, budget.signal)
  try {
    yield * readFileDag(cid, block => session.get(block), budget)
  } finally {
    await session.close()
  }
}
