import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex, hexToBytes } from 'viem'
import { turn } from '../util/index.ts'
import type { Hex } from 'viem'

/** One accepted result: the task's index and the hash of its outcome (exit code and outputs by CID). */
export interface ResultLeaf {
  readonly idx: number
  readonly outcomeHash: Hex
}

/**
 * Hashes between two turns of the event loop: a million-task job's root is about three million
 * hashes, and the node serves its API and its providers' sessions meanwhile.
 */
const HASHES_PER_TURN = 20_000
const HASH_BYTES = 32
/** Leaf hashes are gathered in pages of 1 MiB, so the leaves' count need not be known ahead. */
const LEAVES_PER_PAGE = 32_768

/**
 * The Merkle root a requester records on chain when it finalises a job. Leaves are hashed twice
 * and pairs sorted, as OpenZeppelin's MerkleProof expects, so anyone can later prove on chain that a
 * task's accepted result is part of the job. Hashed as bytes (as hex strings through viem, 100,000
 * leaves blocked the node for 6 s), and held as 32 bytes each in a few large buffers: a
 * million-task job's root took a process about 100 MB more RSS at its peak, where an object per
 * leaf and hash (and per outcome read) took 700 MB more.
 */
export async function resultRoot (leaves: Iterable<ResultLeaf>): Promise<Hex> {
  const hashes = new Hashes()
  const pages: Uint8Array[] = []
  let count = 0
  // abi.encode(uint256 idx, bytes32 outcomeHash)
  const encoded = new Uint8Array(64)
  const view = new DataView(encoded.buffer)
  for (const leaf of leaves) {
    view.setBigUint64(24, BigInt(leaf.idx))
    encoded.set(hexToBytes(leaf.outcomeHash, { size: 32 }), 32)
    const slot = count % LEAVES_PER_PAGE
    if (slot === 0) pages.push(new Uint8Array(LEAVES_PER_PAGE * HASH_BYTES))
    pages.at(-1)!.set(await hashes.of(keccak_256(encoded)), slot * HASH_BYTES)
    count++
  }
  if (count === 0) return bytesToHex(new Uint8Array(HASH_BYTES))
  const level = sortedLeaves(pages, count)
  pages.length = 0
  // Each level is written over the one it is made from: pair i's hash goes to slot i/2, already read.
  const pair = new Uint8Array(2 * HASH_BYTES)
  for (let width = count; width > 1; width = Math.ceil(width / 2)) {
    for (let i = 0; i < width; i += 2) {
      const left = i * HASH_BYTES
      const to = (i / 2) * HASH_BYTES
      if (i + 1 === width) {
        level.copyWithin(to, left, left + HASH_BYTES)
        continue
      }
      const right = left + HASH_BYTES
      const [first, second] = compareSlots(level, left, level, right) < 0 ? [left, right] : [right, left]
      pair.set(level.subarray(first, first + HASH_BYTES), 0)
      pair.set(level.subarray(second, second + HASH_BYTES), HASH_BYTES)
      level.set(await hashes.of(pair), to)
    }
  }
  return bytesToHex(level.subarray(0, HASH_BYTES))
}

/** The leaves' hashes in byte order, in one buffer. */
function sortedLeaves (pages: readonly Uint8Array[], count: number): Uint8Array {
  const pageOf = (leaf: number) => pages[Math.floor(leaf / LEAVES_PER_PAGE)]!
  const offsetOf = (leaf: number) => (leaf % LEAVES_PER_PAGE) * HASH_BYTES
  // Most pairs of hashes differ in their first four bytes: compare those as one number first.
  const prefixes = new Uint32Array(count)
  for (let leaf = 0; leaf < count; leaf++) {
    const page = pageOf(leaf)
    const at = offsetOf(leaf)
    prefixes[leaf] = ((page[at]! << 24) | (page[at + 1]! << 16) | (page[at + 2]! << 8) | page[at + 3]!) >>> 0
  }
  const order = new Uint32Array(count)
  for (let leaf = 0; leaf < count; leaf++) order[leaf] = leaf
  order.sort((a, b) => prefixes[a]! - prefixes[b]! || compareSlots(pageOf(a), offsetOf(a), pageOf(b), offsetOf(b)))
  const sorted = new Uint8Array(count * HASH_BYTES)
  for (let i = 0; i < count; i++) {
    const leaf = order[i]!
    sorted.set(pageOf(leaf).subarray(offsetOf(leaf), offsetOf(leaf) + HASH_BYTES), i * HASH_BYTES)
  }
  return sorted
}

/** keccak256, letting the event loop turn every HASHES_PER_TURN hashes. */
class Hashes {
  private count = 0
  async of (bytes: Uint8Array): Promise<Uint8Array> {
    if (++this.count % HASHES_PER_TURN === 0) await turn()
    return keccak_256(bytes)
  }
}

/** Byte order (the order of their lower-case hex) of the 32-byte hashes at offsets `a` of `x` and `b` of `y`. */
function compareSlots (x: Uint8Array, a: number, y: Uint8Array, b: number): number {
  for (let i = 0; i < HASH_BYTES; i++) if (x[a + i] !== y[b + i]) return x[a + i]! - y[b + i]!
  return 0
}
