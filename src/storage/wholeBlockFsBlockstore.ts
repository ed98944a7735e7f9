import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast } from 'blockstore-fs/sharding'
import { collect } from './blockExchange.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/**
 * The on-disk blockstore, answering each block in one piece, read whole. FsBlockstore streams a
 * block in 64 KiB reads, and Helia's readers (unixfs stat, the exporter, bitswap serving a peer)
 * join the pieces with it-to-buffer, which copies all it has so far for each new piece: quadratic
 * in the block's size. A training delta of 814 kB is one raw block, so every stat or read of it
 * copied 5.8 MB in 13 growing buffers, and the garbage made the requester spend a quarter of its
 * CPU in the collector during a training run. One read of the whole file makes one buffer of the
 * block's size, with none of the stream's machinery: every block a node serves or reads passes here.
 */
export class WholeBlockFsBlockstore extends FsBlockstore {
  // Where a block's file is: the layout FsBlockstore writes with, given to it here.
  private readonly layout: NextToLast

  constructor (path: string) {
    const layout = new NextToLast()
    super(path, { shardingStrategy: layout })
    this.layout = layout
  }

  override async * get (key: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    options?.signal?.throwIfAborted()
    const { dir, file } = this.layout.encode(key)
    let bytes: Uint8Array
    try {
      bytes = await readFile(join(this.path, dir, file), { signal: options?.signal })
    } catch {
      options?.signal?.throwIfAborted()
      // Not there (or not readable): FsBlockstore's own answer, its NotFoundError included.
      bytes = await collect(super.get(key, options))
    }
    yield bytes
  }
}
