import assert from 'node:assert/strict'
import { it } from 'node:test'
import { canonicalOutcome } from './canonicalOutcome.ts'
import type { ReturnedReplica } from './replica.ts'

const replicas = (outcomes: string) => [...outcomes].map((outcomeHash, attempt): ReturnedReplica => ({ attempt, peerId: `p${attempt}`, address: `0x${String(attempt).padStart(40, '0')}`, outcomeHash, status: 'exit', exitCode: 0, reason: null }))

it('2 of 2: agreement wins, a single liar is outvoted by one more honest replica', () => {
  assert.equal(canonicalOutcome(replicas('H'), 1, 2, 2), undefined)
  assert.equal(canonicalOutcome(replicas('HH'), 0, 2, 2), 'H')
  assert.equal(canonicalOutcome(replicas('HL'), 0, 2, 2), undefined)
  assert.equal(canonicalOutcome(replicas('HLH'), 0, 2, 2), 'H')
  assert.equal(canonicalOutcome(replicas('HLM'), 0, 2, 2), undefined)
})

it('2 of 3: colluders returning first wait for the honest replica, and then lose', () => {
  assert.equal(canonicalOutcome(replicas('CC'), 1, 2, 3), undefined, 'the third replica is still out')
  assert.equal(canonicalOutcome(replicas('CCH'), 0, 2, 3), undefined)
  assert.equal(canonicalOutcome(replicas('CCHH'), 0, 2, 3), undefined)
  assert.equal(canonicalOutcome(replicas('CCHHH'), 0, 2, 3), undefined)
  assert.equal(canonicalOutcome(replicas('CCHHHH'), 0, 2, 3), 'H')
  assert.equal(canonicalOutcome(replicas('HHH'), 0, 2, 3), 'H')
  assert.equal(canonicalOutcome(replicas('HHL'), 0, 2, 3), undefined)
  assert.equal(canonicalOutcome(replicas('HHLH'), 0, 2, 3), 'H')
})

it('a single unchecked replica needs only itself', () => {
  assert.equal(canonicalOutcome(replicas('H'), 0, 1, 1), 'H')
})
