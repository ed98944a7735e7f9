import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openDatabase } from '../util/index.ts'
import { ReputationStore } from './reputationStore.ts'

const done = (provider: string) => ({ type: 'result.judged' as const, jobId: 'j', idx: 0, provider, verdict: 'valid' as const })
const invalid = (provider: string) => ({ type: 'result.judged' as const, jobId: 'j', idx: 0, provider, verdict: 'invalid' as const })
const retry = (provider: string, reason: string) => ({ type: 'task.retry' as const, jobId: 'j', idx: 0, provider, reason })

test('outcomes count for or against the provider that produced them', () => {
  const reputation = new ReputationStore(openDatabase(':memory:'))
  for (let i = 0; i < 3; i++) reputation.observe(done('a'))
  reputation.observe(retry('a', 'deadline-missed'))
  reputation.observe(done('a'))
  reputation.observe(retry('a', 'fetch-failed'))
  // The task's own failures say nothing about the provider.
  reputation.observe({ type: 'task.failed', jobId: 'j', idx: 1, provider: 'a', reason: 'trap', message: 'unreachable' })
  assert.deepEqual({ ...reputation.get('a'), lastSeen: 0 }, { peerId: 'a', valid: 4, invalid: 0, timeouts: 1, errors: 1, streak: 0, lastSeen: 0, blacklistedUntil: null })
  reputation.observe(done('a'))
  assert.equal(reputation.get('a')?.streak, 1)
})

test('a provider whose outputs keep failing their checks is blacklisted for a while', () => {
  const reputation = new ReputationStore(openDatabase(':memory:'))
  const now = 1_000_000
  reputation.observe(done('liar'), now)
  reputation.observe(invalid('liar'), now)
  reputation.observe(invalid('liar'), now)
  assert.equal(reputation.blacklisted(now).size, 0, 'two strikes are not enough')
  reputation.observe(invalid('liar'), now)
  assert.deepEqual([...reputation.blacklisted(now)], ['liar'])
  assert.deepEqual([...reputation.blacklisted(now + 2 * 3_600_000)], [], 'the blacklisting expires')
})
