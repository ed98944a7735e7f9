import { FsBlockstore } from 'blockstore-fs'
import { collect } from './blockExchange.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/**
 * The on-disk blockstore, answering each block in one piece. FsBlockstore streams a block in
 * 64 KiB reads, and Helia's readers (unixfs stat, the exporter, bitswap serving a peer) join the
 * pieces with it-to-buffer, which copies all it has so far for each new piece: quadratic in the
 * block's size. A training delta of 814 kB is one raw block, so every stat or read of it copied
 * 5.8 MB in 13 growing buffers, and the garbage made the requester spend a quarter of its CPU in
 * the collector during a training run. Joined once here, each reader copies it once at most.
 */
export class WholeBlockFsBlockstore extends FsBlockstore {
  override async * get (key: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    yield await collect(super.get(key, options))
  }
}
