import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { unixfs } from '@helia/unixfs'
import { CID } from 'multiformats/cid'
import { BlockSession, collect, serveBlocks } from './blockExchange.ts'
import { createHelia } from './createHelia.ts'
import { ContentNotFoundError, ContentTooLargeError, FetchAbortedError, InvalidCidError, InvalidDagError } from './errors.ts'
import { inlineCid } from './inlineCid.ts'
import { readFileDag } from './readFileDag.ts'
import { ClosableFsDatastore } from './closableFsDatastore.ts'
import { WholeBlockFsBlockstore } from './wholeBlockFsBlockstore.ts'
import type { Libp2p, PeerId, ServiceMap } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'

export interface StoredContent {
  readonly cid: string
  readonly size: number
}

export interface FetchOptions {
  /** Peers known to hold the content: asked first, before any DHT lookup. */
  readonly from?: readonly PeerId[]
  /** Local blocks only: a missing block is ContentNotFoundError, never a network fetch. */
  readonly offline?: boolean
  readonly signal?: AbortSignal
}

/**
 * A fetch with its byte budget: the size the content was declared to have (code and inputs), or
 * the most it may have (outputs). Content that declares or takes more is refused with
 * ContentTooLargeError before its links are followed (see readFileDag.ts).
 */
export interface BoundedFetchOptions extends FetchOptions {
  readonly maxBytes: number
}

/**
 * A node's content-addressed storage: an IPFS node (Helia) with an on-disk blockstore, running on
 * the node's libp2p host. Files are chunked into blocks on the way in and streamed block by block
 * on the way out, so even very large inputs never sit in memory whole; every block fetched from a
 * peer is checked against its hash by bitswap.
 */
export interface Storage<S extends ServiceMap = ServiceMap> {
  readonly libp2p: Libp2p<S>
  putBytes(bytes: Uint8Array): Promise<StoredContent>
  putFile(path: string): Promise<StoredContent>
  putStream(source: AsyncIterable<Uint8Array>): Promise<StoredContent>
  /** Stores small content as the one raw block its inline CID names (see inlineCid.ts). */
  putInline(bytes: Uint8Array): Promise<StoredContent>
  /** Size of content held locally; ContentNotFoundError if its root is not here. */
  stat(cid: string): Promise<StoredContent>
  /** Makes every block of the content local, fetching what is missing from peers; answers its size. */
  fetch(cid: string, options: BoundedFetchOptions): Promise<number>
  /** True when every block of the content is held locally. */
  hasLocally(cid: string): Promise<boolean>
  /** Streams the content, fetching missing blocks from peers. */
  read(cid: string, options: BoundedFetchOptions): AsyncIterable<Uint8Array>
  /** Reads content that must be small, refusing more than `maxBytes`. */
  readBytes(cid: string, maxBytes: number, options?: FetchOptions): Promise<Uint8Array>
  /** Writes the content to `path` (atomically: a partial file never appears there); answers its size. */
  fetchToFile(cid: string, path: string, options: BoundedFetchOptions): Promise<number>
  stop(): Promise<void>
}


/** How long one block may take through bitswap, and how often it is asked for again. */
const BITSWAP_BLOCK_TIMEOUT_MS = 10_000
const BITSWAP_TRIES = 3

export function parseCid (cid: string): CID {
  try {
    return CID.parse(cid)
  } catch (error) {
    throw new InvalidCidError(cid, (error as Error).message)
  }
}

export async function createStorage<S extends ServiceMap> (dir: string, libp2pOptions: Libp2pOptions<S>): Promise<Storage<S>> {
  await mkdir(join(dir, 'tmp'), { recursive: true })
  const blockstore = new WholeBlockFsBlockstore(join(dir, 'blocks'))
  const datastore = new ClosableFsDatastore(join(dir, 'datastore'))
  // No HTTP routers or public gateways: content moves only between conun peers.
  const helia = await createHelia(blockstore, datastore, libp2pOptions)
  await helia.start()
  const fs = unixfs(helia)
  const libp2p = helia.libp2p

  const providers = (options?: FetchOptions) => options?.from?.map(peer => peer.toCID())

  /** Adds a file from a stream, counting its bytes on the way, so its size needs no read of it back. */
  async function addCounted (source: AsyncIterable<Uint8Array>): Promise<StoredContent> {
    let size = 0
    const cid = await fs.addByteStream((async function * () {
      for await (const chunk of source) {
        size += chunk.byteLength
        yield chunk
      }
    })())
    return { cid: cid.toString(), size }
  }

  await serveBlocks(libp2p, blockstore)

  /**
   * Streams a file: local blocks from disk, missing ones straight from the peers named in
   * `options.from` (see blockExchange.ts), and anything they lack through bitswap from whoever has
   * it. Every block is checked against its CID and the budget; `keep` stores fetched blocks locally.
   */
  function readContent (cid: string, options: BoundedFetchOptions, keep: boolean): AsyncIterable<Uint8Array> {
    const root = parseCid(cid)
    return (async function * () {
      // Ends the fetch however the read ends: blocks still on their way are neither awaited nor kept.
      const ended = new AbortController()
      const signal = options.signal === undefined ? ended.signal : AbortSignal.any([options.signal, ended.signal])
      let session: BlockSession | undefined
      // Blocks being written when the read ends are waited for, so that when it has ended nothing more is kept.
      const writing = new Set<Promise<void>>()
      const direct = options.from?.[0]
      const getBlock = async (block: CID): Promise<Uint8Array> => {
        if (await blockstore.has(block)) return collect(blockstore.get(block))
        if (options.offline === true) throw new ContentNotFoundError(cid, 'not held by this node')
        if (direct !== undefined) {
          try {
            // Only worth it over a live connection (the usual case: requester and provider are
            // in a task session); finding an unconnected peer's address is bitswap's job.
            if (libp2p.getConnections(direct).length === 0) throw new ContentNotFoundError(cid, 'not connected to the named peer')
            session ??= await BlockSession.open(libp2p, direct, signal)
            const bytes = await session.get(block)
            signal.throwIfAborted()
            if (keep) {
              const put = Promise.resolve(blockstore.put(block, bytes)).then(() => {})
              writing.add(put)
              await put.finally(() => writing.delete(put))
            }
            return bytes
          } catch (error) {
            if (signal.aborted) throw error
          }
        }
        // bitswap: verifies the block and keeps it in the blockstore. The named peers are a hint
        // only when we could not ask them directly; if we did, they failed us.
        const hint = session === undefined ? providers(options) : undefined
        // A want can get lost (seen here: a 100 MB transfer stalled for good at 63 MB), so each
        // block gets a deadline, and a fresh want after it.
        for (let attempt = 1; ; attempt++) {
          try {
            return await collect(helia.blockstore.get(block, { signal: AbortSignal.any([signal, AbortSignal.timeout(BITSWAP_BLOCK_TIMEOUT_MS)]), providers: hint } as never))
          } catch (error) {
            if (signal.aborted || attempt >= BITSWAP_TRIES) throw error
          }
        }
      }
      let completed = false
      try {
        yield * readFileDag(root, getBlock, { maxBytes: options.maxBytes, signal })
        completed = true
      } catch (error) {
        if (options.signal?.aborted === true) throw error instanceof FetchAbortedError ? error : new FetchAbortedError(cid, options.signal.reason)
        if (error instanceof ContentNotFoundError || error instanceof ContentTooLargeError || error instanceof InvalidDagError) throw error
        throw new ContentNotFoundError(cid, (error as Error).message)
      } finally {
        if (!completed) ended.abort()
        await Promise.allSettled(writing)
        await session?.close()
      }
    })()
  }

  let tempCounter = 0
  const storage: Storage<S> = {
    libp2p,
    async putBytes (bytes) {
      return { cid: (await fs.addBytes(bytes)).toString(), size: bytes.byteLength }
    },
    async putFile (path) {
      return addCounted(createReadStream(path))
    },
    async putStream (source) {
      return addCounted(source)
    },
    async putInline (bytes) {
      const cid = parseCid(inlineCid(bytes))
      await blockstore.put(cid, bytes)
      return { cid: cid.toString(), size: bytes.byteLength }
    },
    async stat (cid) {
      const parsed = parseCid(cid)
      try {
        const stats = await fs.stat(parsed, { offline: true } as never)
        return { cid: parsed.toString(), size: Number(stats.size) }
      } catch (error) {
        throw new ContentNotFoundError(cid, (error as Error).message)
      }
    },
    async fetch (cid, options) {
      let size = 0
      for await (const chunk of readContent(cid, options, true)) size += chunk.byteLength // blocks are kept as they arrive
      return size
    },
    async hasLocally (cid) {
      try {
        // A local DAG is held to the size its root declares, like any other.
        const { size } = await storage.stat(cid)
        for await (const _ of readContent(cid, { offline: true, maxBytes: size }, false)) { /* every block is here */ }
        return true
      } catch {
        return false
      }
    },
    read (cid, options) {
      return readContent(cid, options, false)
    },
    async readBytes (cid, maxBytes, options) {
      const chunks: Uint8Array[] = []
      for await (const chunk of storage.read(cid, { ...options, maxBytes })) chunks.push(chunk)
      return Buffer.concat(chunks)
    },
    async fetchToFile (cid, path, options) {
      const temp = join(dir, 'tmp', `${process.pid}-${++tempCounter}`)
      try {
        await pipeline(Readable.from(storage.read(cid, options)), createWriteStream(temp))
        await rename(temp, path)
      } finally {
        await rm(temp, { force: true })
      }
      return (await stat(path)).size
    },
    async stop () {
      await helia.stop()
      await datastore.stopWriting()
    },
  }
  return storage
}
