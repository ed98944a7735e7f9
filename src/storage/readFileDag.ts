import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import * as raw from 'multiformats/codecs/raw'
import { ContentTooLargeError, FetchAbortedError, InvalidDagError } from './errors.ts'
import type { CID } from 'multiformats/cid'

/** Blocks fetched ahead of the reader: enough to keep a link busy, few enough to bound memory. */
const LOOKAHEAD_BLOCKS = 16

/** Largest block accepted (the importer makes 1 MiB chunks; dag-pb nodes are smaller). */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024

/**
 * Block bytes a file of `maxBytes` may take in all: its own bytes, the dag-pb nodes that link its
 * chunks (about 50 bytes per chunk as the importer builds them, a few KiB per GiB), and one block
 * more, received before the check that refuses it.
 */
function maxBlockBytesFor (maxBytes: number): number {
  return maxBytes + MAX_BLOCK_BYTES + Math.ceil(maxBytes / 64)
}

/**
 * Blocks a file of `maxBytes` may take: chunks of 4 KiB on average at the least (conun makes 1 MiB
 * ones), so that many tiny, empty or repeated blocks cannot keep a small fetch walking for ever.
 */
function maxBlocksFor (maxBytes: number): number {
  return 64 + Math.ceil(maxBytes / 4096)
}

/** What one read of a file may cost. */
export interface ReadBudget {
  /** The most bytes the file may have. */
  readonly maxBytes: number
  /** Stops the read: no block is requested, and none is waited for, once it fires. */
  readonly signal?: AbortSignal
}

/**
 * The bytes of a UnixFS file (or raw block), in order, with at most LOOKAHEAD_BLOCKS blocks in
 * flight or waiting: the next blocks are requested only as the reader takes earlier ones.
 *
 * A file's blocks come from whoever holds them, so every size they declare is checked before it is
 * trusted: the root's against the budget before any link is followed, and each node's and leaf's
 * against what its parent declared for it, so that a DAG claiming fewer bytes than it links to fails
 * at its first lie. Every block received counts against the budget too, as does their number.
 */
export async function * readFileDag (root: CID, getBlock: (cid: CID) => Promise<Uint8Array>, budget: ReadBudget): AsyncGenerator<Uint8Array> {
  const { maxBytes, signal } = budget
  const name = root.toString()
  const maxBlocks = maxBlocksFor(maxBytes)
  const maxBlockBytes = maxBlockBytesFor(maxBytes)
  let blocks = 0
  let blockBytes = 0
  let inFlight = 0
  const slotFreed: Array<() => void> = []
  /** `declared` is the size the parent gave the block: a raw leaf of another size is refused on arrival. */
  const fetch = async (cid: CID, declared?: bigint): Promise<Uint8Array> => {
    while (inFlight >= LOOKAHEAD_BLOCKS) await new Promise<void>(resolve => slotFreed.push(resolve))
    inFlight++
    try {
      if (signal?.aborted === true) throw new FetchAbortedError(name, signal.reason)
      if (++blocks > maxBlocks) throw new ContentTooLargeError(name, maxBytes, `it takes more than ${maxBlocks} blocks`)
      const block = await untilAborted(getBlock(cid), signal, () => new FetchAbortedError(name, signal?.reason))
      if (block.byteLength > MAX_BLOCK_BYTES) throw new InvalidDagError(name, `block ${cid} is ${block.byteLength} bytes, over ${MAX_BLOCK_BYTES}`)
      // Before it counts: blocks arrive in any order, and the first lie is what the read reports.
      if (cid.code === raw.code && declared !== undefined) checkSize(cid, BigInt(block.byteLength), declared)
      blockBytes += block.byteLength
      if (blockBytes > maxBlockBytes) throw new ContentTooLargeError(name, maxBytes, `its blocks take more than ${maxBlockBytes} bytes`)
      return block
    } finally {
      inFlight--
      slotFreed.shift()?.()
    }
  }

  /** `declared` is the size the parent gave this block; the root's is its own, held to the budget. */
  const checkSize = (cid: CID, size: bigint, declared: bigint | undefined): void => {
    if (declared === undefined && size > BigInt(maxBytes)) throw new ContentTooLargeError(name, maxBytes, `it declares ${size} bytes`)
    if (declared !== undefined && size !== declared) throw new InvalidDagError(name, `block ${cid} holds ${size} bytes where its parent declares ${declared}`)
  }

  async function * walk (cid: CID, block: Uint8Array, declared: bigint | undefined): AsyncGenerator<Uint8Array> {
    if (cid.code === raw.code) {
      checkSize(cid, BigInt(block.byteLength), declared)
      yield block
      return
    }
    if (cid.code !== dagPb.code) throw new InvalidDagError(name, `block ${cid} has the unsupported codec 0x${cid.code.toString(16)}`)
    const { node, data } = decodeFileNode(name, cid, block)
    checkSize(cid, data.fileSize(), declared)
    if (data.data !== undefined && data.data.byteLength > 0) yield data.data
    // Children are requested in order, a window ahead of the one being read.
    const children = node.Links.map(link => link.Hash)
    const requested: Array<Promise<Uint8Array>> = []
    let next = 0
    const requestAhead = (upTo: number) => {
      for (; next < Math.min(children.length, upTo); next++) {
        const promise = fetch(children[next]!, data.blockSizes[next])
        promise.catch(() => {}) // awaited in order below; avoid an unhandled rejection meanwhile
        requested.push(promise)
      }
    }
    for (let i = 0; i < children.length; i++) {
      requestAhead(i + LOOKAHEAD_BLOCKS)
      const childBlock = await requested[i]!
      requested[i] = undefined as never // let it be collected once consumed
      yield * walk(children[i]!, childBlock, data.blockSizes[i])
    }
  }

  yield * walk(root, await fetch(root), undefined)
}

/** A dag-pb block as a UnixFS file node, with one declared size per link. */
function decodeFileNode (name: string, cid: CID, block: Uint8Array): { node: dagPb.PBNode, data: UnixFS } {
  let node: dagPb.PBNode
  let data: UnixFS
  try {
    node = dagPb.decode(block)
    if (node.Data === undefined) throw new Error('it has no UnixFS data')
    data = UnixFS.unmarshal(node.Data)
  } catch (error) {
    throw new InvalidDagError(name, `block ${cid} is not a UnixFS node (${(error as Error).message})`)
  }
  if (data.type !== 'file' && data.type !== 'raw') throw new InvalidDagError(name, `block ${cid} is not a file but a ${data.type}`)
  if (data.blockSizes.length !== node.Links.length) throw new InvalidDagError(name, `block ${cid} has ${node.Links.length} links but ${data.blockSizes.length} sizes`)
  return { node, data }
}

/** The promise's value, or `aborted()` as soon as the signal fires, whichever comes first. */
function untilAborted<T> (promise: Promise<T>, signal: AbortSignal | undefined, aborted: () => Error): Promise<T> {
  if (signal === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted())
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
