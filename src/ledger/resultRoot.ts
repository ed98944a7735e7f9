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

/**
 * The Merkle root a requester records on chain when it finalises a job. Leaves are hashed twice
 * and pairs sorted, as OpenZeppelin's MerkleProof expects, so anyone can later prove on chain that a
 * task's accepted result is part of the job. Hashed as bytes, a page of leaves at a time (as hex
 * strings through viem, 100,000 leaves blocked the node for 6 s).
 */
export async function resultRoot (leaves: Iterable<ResultLeaf>): Promise<Hex> {
  const hashes = new Hashes()
  // abi.encode(uint256 idx, bytes32 outcomeHash)
  const encoded = new Uint8Array(64)
  const view = new DataView(encoded.buffer)
  let level: Uint8Array[] = []
  for (const leaf of leaves) {
    view.setBigUint64(24, BigInt(leaf.idx))
    encoded.set(hexToBytes(leaf.outcomeHash, { size: 32 }), 32)
    level.push(await hashes.of(keccak_256(encoded)))
  }
  if (level.length === 0) return bytesToHex(new Uint8Array(32))
  level.sort(compareBytes)
  const pair = new Uint8Array(64)
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!
      const right = level[i + 1]
      if (right === undefined) {
        next.push(left)
        continue
      }
      const inOrder = compareBytes(left, right) < 0
      pair.set(inOrder ? left : right, 0)
      pair.set(inOrder ? right : left, 32)
      next.push(await hashes.of(pair))
    }
    level = next
  }
  return bytesToHex(level[0]!)
}

/** keccak256, letting the event loop turn every HASHES_PER_TURN hashes. */
class Hashes {
  private count = 0
  async of (bytes: Uint8Array): Promise<Uint8Array> {
    if (++this.count % HASHES_PER_TURN === 0) await turn()
    return keccak_256(bytes)
  }
}

/** Byte order, which is the order of their lower-case hex. */
function compareBytes (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}
