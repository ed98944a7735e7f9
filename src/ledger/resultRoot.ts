import { concat, encodeAbiParameters, keccak256, toHex } from 'viem'
import type { Hex } from 'viem'

/** One accepted result: the task's index and the hash of its outcome (exit code and outputs by CID). */
export interface ResultLeaf {
  readonly idx: number
  readonly outcomeHash: Hex
}

/**
 * The Merkle root a requester records on chain when it finalises a job. Leaves are hashed twice
 * and pairs sorted, as OpenZeppelin's MerkleProof expects, so anyone can later prove on chain that a
 * task's accepted result is part of the job.
 */
export function resultRoot (leaves: readonly ResultLeaf[]): Hex {
  if (leaves.length === 0) return toHex(0n, { size: 32 })
  let level = leaves
    .map(leaf => keccak256(keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'bytes32' }], [BigInt(leaf.idx), leaf.outcomeHash]))))
    .sort()
  while (level.length > 1) {
    const next: Hex[] = []
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!
      const right = level[i + 1]
      next.push(right === undefined ? left : keccak256(left < right ? concat([left, right]) : concat([right, left])))
    }
    level = next
  }
  return level[0]!
}
