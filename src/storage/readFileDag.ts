import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import * as raw from 'multiformats/codecs/raw'
import { ContentNotFoundError } from './errors.ts'
import type { CID } from 'multiformats/cid'

/** Blocks fetched ahead of the reader: enough to keep a link busy, few enough to bound memory. */
const LOOKAHEAD_BLOCKS = 16

/**
 * The bytes of a UnixFS file (or raw block), in order, with at most LOOKAHEAD_BLOCKS blocks in
 * flight or waiting: the next blocks are requested only as the reader takes earlier ones.
 */
export async function * readFileDag (root: CID, getBlock: (cid: CID) => Promise<Uint8Array>): AsyncGenerator<Uint8Array> {
  let inFlight = 0
  const slotFreed: Array<() => void> = []
  const fetch = async (cid: CID): Promise<Uint8Array> => {
    while (inFlight >= LOOKAHEAD_BLOCKS) await new Promise<void>(resolve => slotFreed.push(resolve))
    inFlight++
    try {
      return await getBlock(cid)
    } finally {
      inFlight--
      slotFreed.shift()?.()
    }
  }

  async function * walk (cid: CID, block: Uint8Array): AsyncGenerator<Uint8Array> {
    if (cid.code === raw.code) {
      yield block
      return
    }
    if (cid.code !== dagPb.code) throw new ContentNotFoundError(cid.toString(), `unsupported codec 0x${cid.code.toString(16)}`)
    const node = dagPb.decode(block)
    const data = node.Data === undefined ? undefined : UnixFS.unmarshal(node.Data)
    if (data !== undefined && data.type !== 'file' && data.type !== 'raw') throw new ContentNotFoundError(cid.toString(), `not a file but a ${data.type}`)
    if (data?.data !== undefined && data.data.byteLength > 0) yield data.data
    // Children are requested in order, a window ahead of the one being read.
    const children = node.Links.map(link => link.Hash)
    const requested: Array<Promise<Uint8Array>> = []
    let next = 0
    const requestAhead = (upTo: number) => {
      for (; next < Math.min(children.length, upTo); next++) {
        const promise = fetch(children[next]!)
        promise.catch(() => {}) // awaited in order below; avoid an unhandled rejection meanwhile
        requested.push(promise)
      }
    }
    for (let i = 0; i < children.length; i++) {
      requestAhead(i + LOOKAHEAD_BLOCKS)
      const childBlock = await requested[i]!
      requested[i] = undefined as never // let it be collected once consumed
      yield * walk(children[i]!, childBlock)
    }
  }

  yield * walk(root, await fetch(root))
}
