/**
 * What a browser provider holds, all in memory: task code and inputs fetched by CID straight from
 * the requester (every block checked against its hash), and outputs too large to travel inline,
 * stored as UnixFS blocks (the same CIDs a node computes) and served to the requester over
 * /conun/blocks/1.0.0, which is how it fetches large outputs from any provider.
 */
import { unixfs } from '@helia/unixfs'
import { CID } from 'multiformats/cid'
import { ContentNotFoundError, ContentTooLargeError, parseCid, readFromPeer, serveBlocks } from '../../storage/index.ts'
import { concatBytes } from '../../util/index.ts'
import type { ContentCache, TaskStorage } from '../../provider/index.ts'
import type { FetchOptions, StoredContent } from '../../storage/index.ts'
import type { Libp2p } from '@libp2p/interface'

/**
 * A tab's memory is all it has: code and inputs, and output blocks, are each kept up to this many
 * bytes, the oldest dropped first (a requester fetches large outputs as soon as their result arrives).
 */
const MAX_KEPT_BYTES = 256 * 1024 * 1024

export class BrowserContent implements ContentCache, TaskStorage {
  private readonly libp2p: Libp2p
  private readonly blobs = new BoundedMap()
  private readonly pending = new Map<string, Promise<string>>()
  private readonly blocks = new BoundedMap()
  private readonly store = {
    has: (cid: CID) => this.blocks.has(cid.toString()),
    put: (cid: CID, bytes: Uint8Array) => {
      this.blocks.set(cid.toString(), bytes)
      return cid
    },
    get: (cid: CID) => {
      const bytes = this.blocks.get(cid.toString())
      if (bytes === undefined) throw new ContentNotFoundError(cid.toString(), 'not held by this browser')
      return (function * () { yield bytes })()
    },
  }

  constructor (libp2p: Libp2p) {
    this.libp2p = libp2p
  }

  /** Serves the outputs this browser stored to the peers that ask for them. */
  async start (): Promise<void> {
    await serveBlocks(this.libp2p, this.store)
  }

  /** The reference handed to the runtime is the CID itself; `bytes` turns it back into the content. */
  async get (cid: string, size: number, options?: FetchOptions): Promise<string> {
    if (this.blobs.has(cid)) return cid
    const known = this.pending.get(cid)
    if (known !== undefined) return known
    // Refused before any block moves: content that could never be kept.
    if (size > MAX_KEPT_BYTES) throw new ContentTooLargeError(cid, MAX_KEPT_BYTES, `the task declares ${size} bytes, more than this browser keeps`)
    const fetching = (async () => {
      const bytes = await this.readBytes(cid, size, options)
      if (bytes.byteLength !== size) throw new Error(`content ${cid} is ${bytes.byteLength} bytes, the task said ${size}`)
      this.blobs.set(cid, bytes)
      return cid
    })()
    this.pending.set(cid, fetching)
    try {
      return await fetching
    } finally {
      this.pending.delete(cid)
    }
  }

  bytes (reference: string): Uint8Array {
    const bytes = this.blobs.get(reference)
    if (bytes === undefined) throw new ContentNotFoundError(reference, 'not fetched by this browser')
    return bytes
  }

  async readBytes (cid: string, maxBytes: number, options?: FetchOptions): Promise<Uint8Array> {
    const source = options?.from?.[0]
    if (source === undefined) throw new ContentNotFoundError(cid, 'a browser fetches only from the peer that sent the task')
    const chunks: Uint8Array[] = []
    for await (const chunk of readFromPeer(this.libp2p, source, parseCid(cid), { maxBytes, signal: options?.signal })) chunks.push(chunk)
    return concatBytes(chunks)
  }

  async putBytes (bytes: Uint8Array): Promise<StoredContent> {
    const cid = await unixfs({ blockstore: this.store as never }).addBytes(bytes)
    return { cid: CID.asCID(cid)!.toString(), size: bytes.byteLength }
  }
}

/** Bytes by key, the oldest dropped once the total passes MAX_KEPT_BYTES. */
class BoundedMap {
  private readonly entries = new Map<string, Uint8Array>()
  private bytes = 0

  has (key: string): boolean {
    return this.entries.has(key)
  }

  get (key: string): Uint8Array | undefined {
    return this.entries.get(key)
  }

  set (key: string, value: Uint8Array): void {
    if (this.entries.has(key)) return
    this.entries.set(key, value)
    this.bytes += value.byteLength
    for (const [oldest, dropped] of this.entries) {
      if (this.bytes <= MAX_KEPT_BYTES || oldest === key) break
      this.entries.delete(oldest)
      this.bytes -= dropped.byteLength
    }
  }
}
