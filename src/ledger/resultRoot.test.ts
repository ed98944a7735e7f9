import { test } from 'node:test'
import assert from 'node:assert/strict'
import { concat, encodeAbiParameters, keccak256, pad, toHex } from 'viem'
import { resultRoot } from './resultRoot.ts'
import type { Hex } from 'viem'
import type { ResultLeaf } from './resultRoot.ts'

/** The root as first written, through viem's hex-string hashing: the definition the bytes version must keep. */
function referenceRoot (leaves: readonly ResultLeaf[]): Hex {
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

const leavesOf = (count: number, first = 0): ResultLeaf[] => Array.from({ length: count }, (_, i) => ({ idx: first + i, outcomeHash: keccak256(toHex(`outcome ${first + i}`)) }))
/** Distinct outcome hashes that cost no hashing to make (the leaves are hashed anyway). */
const cheapLeavesOf = (count: number): ResultLeaf[] => Array.from({ length: count }, (_, i) => ({ idx: i, outcomeHash: pad(toHex(i + 1), { size: 32 }) }))

test('the root is the Merkle root of the doubly hashed leaves with sorted pairs, for any number of leaves', async () => {
  for (const count of [0, 1, 2, 3, 7, 64, 1001]) assert.equal(await resultRoot(leavesOf(count)), referenceRoot(leavesOf(count)), `${count} leaves`)
  // More leaves than one page of the root's buffers holds (32,768), and an odd count.
  const many = cheapLeavesOf(40_001)
  assert.equal(await resultRoot(many), referenceRoot(many), `${many.length} leaves`)
  const far = [{ idx: 2 ** 40 + 3, outcomeHash: keccak256('0x01') }, { idx: 5, outcomeHash: keccak256('0x02') }]
  assert.equal(await resultRoot(far), referenceRoot(far), 'large task indices')
  assert.equal(await resultRoot([...leavesOf(50)].reverse()), await resultRoot(leavesOf(50)), 'independent of the leaves\' order')
  assert.notEqual(await resultRoot(leavesOf(50)), await resultRoot([...leavesOf(49), { idx: 49, outcomeHash: keccak256('0xff') }]), 'one outcome changes it')
})

test('a large root lets the event loop turn while it is hashed', async () => {
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 1)
  try {
    await resultRoot(leavesOf(100_000))
  } finally {
    clearInterval(timer)
  }
  assert.ok(ticks >= 5, `a 1 ms interval ticked ${ticks} times while 100,000 leaves were hashed`)
})
