import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EvidenceStore } from './evidenceStore.ts'
import { openDatabase } from '../util/index.ts'
import type { TaskResultsBody } from '../net/index.ts'

test('evidence keeps each wrong result with its signed batch, the batch stored once, per provider', () => {
  const db = openDatabase(':memory:')
  const store = new EvidenceStore(db)
  const body = (jobId: string, provider: string): TaskResultsBody => ({ agreementId: 'a1', jobId, chainId: 31337, provider, results: [] })
  const batch = { body: body('job-1', '0x1'), signature: '0xsig' }
  store.keep('job-1', 3, 1, 'liar', batch)
  store.keep('job-1', 4, 1, 'liar', batch)
  store.keep('job-1', 3, 1, 'liar', batch) // the same result judged again changes nothing
  store.keep('job-2', 0, 2, 'other', { body: body('job-2', '0x2'), signature: '0xother' })
  assert.deepEqual(store.of('liar'), [
    { jobId: 'job-1', idx: 3, attempt: 1, batch },
    { jobId: 'job-1', idx: 4, attempt: 1, batch },
  ])
  assert.equal(store.of('liar', 1).length, 1)
  assert.deepEqual(store.of('nobody'), [])
  assert.equal(Number(db.prepare('SELECT count(*) AS n FROM signed_batches').get()!.n), 2)
})
