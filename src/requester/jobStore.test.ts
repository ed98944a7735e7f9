import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openDatabase } from '../util/index.ts'
import { JobStore, UnknownJobError } from './jobStore.ts'
import type { ResolvedJob } from './jobRecords.ts'
import type { TaskResult } from '../net/index.ts'

const spec: ResolvedJob = {
  name: 't', runtime: 'wasi', module: { cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', size: 0 },
  limits: { memoryBytes: 1 << 20, timeoutMs: 1000, outputBytes: 1 << 20 }, constraints: {}, maxAttempts: 2, replication: 1, quorum: 1, adaptive: false, priceWei: '0', budgetWei: '0', waitForProvidersMs: 1000,
}
const empty = { cid: spec.module.cid, size: 0, inline: '' }
const result = (idx: number, attempt: number): TaskResult => ({ taskId: String(idx), attempt, status: 'exit', exitCode: 0, stdout: empty, stderr: empty, files: [], usage: { wallMs: 1, memoryBytes: 0 } })

function storeWithJob () {
  const store = new JobStore(openDatabase(':memory:'))
  store.createJob('j', spec, '0x00', [{ args: ['a'], env: {}, inputs: [] }, { args: ['b'], env: {}, inputs: [] }])
  return store
}

test('a result is recorded once, only for the attempt in flight', () => {
  const store = storeWithJob()
  store.dispatch('j', [{ idx: 0, attempt: 1, peerId: 'p1', address: '0x1' }])
  assert.deepEqual(store.recordResults('j', [{ idx: 0, result: result(0, 1), event: 'accept', outputs: [{ kind: 'stdout', path: '', cid: 'c', size: 2, inline: new Uint8Array([104, 105]) }] }]), [0])
  // A duplicate, or a late result of an older attempt, changes nothing.
  assert.deepEqual(store.recordResults('j', [{ idx: 0, result: result(0, 1), event: 'accept', outputs: [] }]), [])
  assert.deepEqual(store.taskCounts('j'), { queued: 1, running: 0, done: 1, failed: 0, cancelled: 0 })
  assert.deepEqual([...store.inlineOutput('c')!], [104, 105])
  const [outcome] = store.outcomes('j')
  assert.equal(outcome?.provider, 'p1')
  assert.equal(outcome?.outputs.length, 1)
})

test('a lost attempt goes back to the queue; a restart requeues what was in flight', () => {
  const store = storeWithJob()
  store.dispatch('j', [{ idx: 0, attempt: 1, peerId: 'p1', address: '0x1' }, { idx: 1, attempt: 1, peerId: 'p2', address: '0x2' }])
  assert.equal(store.loseAttempt('j', 0, 1, 'retry', 'provider-lost', 'gone'), true)
  assert.equal(store.loseAttempt('j', 0, 1, 'retry', 'provider-lost', 'gone'), false, 'an attempt ends once')
  store.recoverJob('j')
  const tasks = [...store.openTasks('j')]
  assert.deepEqual(tasks.map(t => t.state), ['queued', 'queued'])
  assert.deepEqual(tasks.map(t => t.triedBy), [['p1'], ['p2']])
  assert.deepEqual(tasks.map(t => t.attempts), [1, 1])
})

test('cancelling ends every open task; unknown jobs are typed errors', () => {
  const store = storeWithJob()
  store.dispatch('j', [{ idx: 0, attempt: 1, peerId: 'p1', address: '0x1' }])
  store.cancelJob('j')
  assert.equal(store.job('j').state, 'cancelled')
  assert.deepEqual(store.taskCounts('j'), { queued: 0, running: 0, done: 0, failed: 0, cancelled: 2 })
  assert.throws(() => store.job('nope'), UnknownJobError)
})

test('replicas are held until a quorum, then judged valid or invalid, and kept across a restart', () => {
  const store = new JobStore(openDatabase(':memory:'))
  store.createJob('r', { ...spec, replication: 2, quorum: 2 }, '0x00', [{ args: [], env: {}, inputs: [] }])
  store.dispatch('r', [{ idx: 0, attempt: 1, peerId: 'honest', address: '0x1' }, { idx: 0, attempt: 2, peerId: 'liar', address: '0x2' }])
  const out = (cid: string) => [{ kind: 'stdout' as const, path: '', cid, size: 1, inline: new Uint8Array([1]) }]
  assert.deepEqual(store.recordResults('r', [{ idx: 0, result: result(0, 1), event: 'hold', outputs: out('good'), outcomeHash: 'A' }]), [0])
  assert.deepEqual(store.recordResults('r', [{ idx: 0, result: result(0, 2), event: 'hold', outputs: out('bad'), outcomeHash: 'B' }]), [0])
  store.recoverJob('r')
  // With the address each is paid at: a replica accepted after a restart earns its provider a receipt.
  assert.deepEqual([...store.openTasks('r')][0]?.returned.map(r => [r.attempt, r.peerId, r.address, r.outcomeHash]), [[1, 'honest', '0x1', 'A'], [2, 'liar', '0x2', 'B']])
  store.dispatch('r', [{ idx: 0, attempt: 3, peerId: 'third', address: '0x3' }])
  store.recordResults('r', [{ idx: 0, result: result(0, 3), event: 'accept', outputs: out('good'), outcomeHash: 'A', canonical: { attempt: 1, valid: [1, 3], invalid: [2] } }])
  const [outcome] = store.outcomes('r')
  assert.equal(outcome?.state, 'done')
  assert.equal(outcome?.provider, 'honest', 'the canonical result is the first of the agreeing replicas')
  assert.deepEqual(outcome?.outputs.map(o => o.cid), ['good'])
  assert.deepEqual(store.outcomes('r')[0]?.replicasReturned, 0, 'judged replicas wait for nothing')
})

test('tasks are read by index range, with their arguments, outputs and the replicas awaiting a quorum', () => {
  const store = new JobStore(openDatabase(':memory:'))
  store.createJob('i', { ...spec, replication: 2, quorum: 2 }, '0x00', Array.from({ length: 5 }, (_, i) => ({ args: [`t${i}`], env: {}, inputs: [] })))
  store.dispatch('i', [{ idx: 2, attempt: 1, peerId: 'p1', address: '0x1' }, { idx: 2, attempt: 2, peerId: 'p2', address: '0x2' }, { idx: 3, attempt: 1, peerId: 'p1', address: '0x1' }])
  store.recordResults('i', [{ idx: 2, result: result(2, 1), event: 'hold', outputs: [{ kind: 'stdout', path: '', cid: 'held', size: 1 }], outcomeHash: 'A' }])
  store.recordResults('i', [{ idx: 3, result: result(3, 1), event: 'accept', outputs: [{ kind: 'stdout', path: '', cid: 'out3', size: 1 }] }])
  const page = store.outcomes('i', 1, 3)
  assert.deepEqual(page.map(task => [task.idx, task.state, task.args, task.replicasReturned, task.outputs.map(o => o.cid)]), [
    [1, 'queued', ['t1'], 0, []],
    [2, 'running', ['t2'], 1, []],
    [3, 'done', ['t3'], 0, ['out3']],
  ])
  assert.deepEqual(store.outcomes('i', 4, 10).map(task => task.idx), [4], 'a range past the last task ends with it')
  assert.deepEqual(store.outcomes('i').map(task => task.idx), [0, 1, 2, 3, 4], 'no range: every task')
})

test('ended tasks are read page by page in the order they ended, each once; cancelled ones come after', () => {
  const store = new JobStore(openDatabase(':memory:'))
  store.createJob('p', spec, '0x00', Array.from({ length: 6 }, (_, i) => ({ args: [`t${i}`], env: {}, inputs: [] })))
  store.dispatch('p', [3, 1, 4].map(idx => ({ idx, attempt: 1, peerId: 'p1', address: '0x1' })))
  store.recordResults('p', [{ idx: 4, result: result(4, 1), event: 'accept', outputs: [{ kind: 'stdout', path: '', cid: 'out4', size: 1 }] }])
  store.recordResults('p', [{ idx: 1, result: result(1, 1), event: 'accept', outputs: [] }])
  assert.deepEqual(store.endedTasks('p', 0, 10).map(t => [t.idx, t.seq, t.args]), [[4, 1, ['t4']], [1, 2, ['t1']]])
  assert.deepEqual(store.endedTasks('p', 0, 1).map(t => t.outputs.map(o => o.cid)), [['out4']], 'a page carries its tasks\' outputs')
  assert.deepEqual(store.endedTasks('p', 2, 10), [], 'nothing ended after the last one read')
  assert.equal(store.lastEndedSeq('p'), 2, 'the last number given is where a reader of the whole job follows from')
  store.loseAttempt('p', 3, 1, 'fail', 'trap', 'unreachable')
  store.cancelJob('p')
  const rest = store.endedTasks('p', 2, 10)
  assert.deepEqual(rest.map(t => [t.idx, t.state]), [[3, 'failed'], [0, 'cancelled'], [2, 'cancelled'], [5, 'cancelled']])
  assert.ok(rest.every((t, i) => i === 0 || t.seq > rest[i - 1]!.seq))
  assert.equal(store.lastEndedSeq('p'), Math.max(...rest.map(t => t.seq)))
})

test('a database from before results were paged numbers the tasks that had ended, and goes on after them', () => {
  const db = openDatabase(':memory:')
  new JobStore(db).createJob('old', spec, '0x00', Array.from({ length: 3 }, () => ({ args: [], env: {}, inputs: [] })))
  db.exec(`UPDATE tasks SET state = 'done' WHERE idx < 2; DROP INDEX tasks_by_finish;
    ALTER TABLE tasks DROP COLUMN finished_seq; ALTER TABLE jobs DROP COLUMN finished_count;`)
  const store = new JobStore(db)
  assert.deepEqual(store.endedTasks('old', 0, 10).map(t => [t.idx, t.seq]), [[0, 1], [1, 2]])
  store.dispatch('old', [{ idx: 2, attempt: 1, peerId: 'p1', address: '0x1' }])
  store.recordResults('old', [{ idx: 2, result: result(2, 1), event: 'accept', outputs: [] }])
  assert.deepEqual(store.endedTasks('old', 2, 10).map(t => [t.idx, t.seq]), [[2, 4]])
})

test('a returned replica\'s outputs read back after a restart, small ones with their bytes (for compare.tolerance)', () => {
  const store = new JobStore(openDatabase(':memory:'))
  store.createJob('t', { ...spec, replication: 2, quorum: 2 }, '0x00', [{ args: [], env: {}, inputs: [] }])
  store.dispatch('t', [{ idx: 0, attempt: 1, peerId: 'p1', address: '0x1' }])
  const outputs = [
    { kind: 'stdout' as const, path: '', cid: 'out', size: 2, inline: new Uint8Array([104, 105]) },
    { kind: 'file' as const, path: 'c.bin', cid: 'big', size: 100_000 },
  ]
  store.recordResults('t', [{ idx: 0, result: result(0, 1), event: 'hold', outputs, outcomeHash: 'A' }])
  store.recoverJob('t')
  const read = store.attemptOutputs('t', 0, 1).sort((a, b) => a.kind.localeCompare(b.kind))
  assert.deepEqual(read.map(({ kind, path, cid, size }) => [kind, path, cid, size]), [['file', 'c.bin', 'big', 100_000], ['stdout', '', 'out', 2]])
  assert.equal(read[0]?.inline, undefined, 'a fetched file is read from storage, not the database')
  assert.deepEqual([...read[1]!.inline!], [104, 105])
  assert.deepEqual(store.attemptOutputs('t', 0, 2), [])
})

test('task counts kept by triggers stay right through dispatches, retries, failures and deletes', () => {
  const db = openDatabase(':memory:')
  const store = new JobStore(db)
  store.createJob('j', spec, '0x00', [{ args: ['a'], env: {}, inputs: [] }, { args: ['b'], env: {}, inputs: [] }])
  const counts = () => store.taskCounts('j')
  store.dispatch('j', [{ idx: 0, attempt: 1, peerId: 'p1', address: '0x1' }, { idx: 1, attempt: 1, peerId: 'p2', address: '0x2' }])
  assert.deepEqual(counts(), { queued: 0, running: 2, done: 0, failed: 0, cancelled: 0 })
  store.loseAttempt('j', 0, 1, 'retry', 'provider-lost', 'gone')
  assert.deepEqual(counts(), { queued: 1, running: 1, done: 0, failed: 0, cancelled: 0 })
  store.dispatch('j', [{ idx: 0, attempt: 2, peerId: 'p3', address: '0x3' }])
  store.recordResults('j', [{ idx: 0, result: result(0, 2), event: 'accept', outputs: [] }])
  store.loseAttempt('j', 1, 1, 'fail', 'provider-lost', 'gone')
  assert.deepEqual(counts(), { queued: 0, running: 0, done: 1, failed: 1, cancelled: 0 })
  db.exec('DELETE FROM tasks WHERE job_id = \'j\' AND idx = 1')
  assert.deepEqual(counts(), { queued: 0, running: 0, done: 1, failed: 0, cancelled: 0 })
})

test('a database made before task_counts gets them filled from its tasks', () => {
  const db = openDatabase(':memory:')
  const store = new JobStore(db)
  store.createJob('j', spec, '0x00', [{ args: [], env: {}, inputs: [] }, { args: [], env: {}, inputs: [] }, { args: [], env: {}, inputs: [] }])
  store.dispatch('j', [{ idx: 0, attempt: 1, peerId: 'p1', address: '0x1' }])
  store.recordResults('j', [{ idx: 0, result: result(0, 1), event: 'accept', outputs: [] }])
  store.dispatch('j', [{ idx: 1, attempt: 1, peerId: 'p1', address: '0x1' }])
  // As an older version left it: no table, no triggers.
  db.exec('DROP TRIGGER task_counts_delete; DROP TRIGGER task_counts_update; DROP TABLE task_counts')
  const migrated = new JobStore(db)
  assert.deepEqual(migrated.taskCounts('j'), { queued: 1, running: 1, done: 1, failed: 0, cancelled: 0 })
  // And kept from then on.
  migrated.cancelJob('j')
  assert.deepEqual(migrated.taskCounts('j'), { queued: 0, running: 0, done: 1, failed: 0, cancelled: 2 })
  assert.deepEqual(new JobStore(db).taskCounts('j'), { queued: 0, running: 0, done: 1, failed: 0, cancelled: 2 }, 'a second open fills nothing twice')
})

test('tasks done are counted per provider whose attempt was accepted; a database made before those counts gets them filled', () => {
  const db = openDatabase(':memory:')
  const store = new JobStore(db)
  store.createJob('j', spec, '0x00', ['a', 'b', 'c'].map(arg => ({ args: [arg], env: {}, inputs: [] })))
  store.dispatch('j', [{ idx: 0, attempt: 1, peerId: 'p1', address: '0x1' }, { idx: 1, attempt: 1, peerId: 'p2', address: '0x2' }, { idx: 2, attempt: 1, peerId: 'p2', address: '0x2' }])
  store.recordResults('j', [{ idx: 0, result: result(0, 1), event: 'accept', outputs: [] }, { idx: 1, result: result(1, 1), event: 'accept', outputs: [] }])
  // The third task's first attempt is lost; its second, on p1, is the one accepted.
  store.loseAttempt('j', 2, 1, 'retry', 'provider-lost', 'gone')
  store.dispatch('j', [{ idx: 2, attempt: 2, peerId: 'p1', address: '0x1' }])
  store.recordResults('j', [{ idx: 2, result: result(2, 2), event: 'accept', outputs: [] }])
  const expected = [{ peerId: 'p1', done: 2 }, { peerId: 'p2', done: 1 }]
  assert.deepEqual(store.doneByProvider('j'), expected)
  // As an older version left it: no table, no trigger.
  db.exec('DROP TRIGGER provider_counts_done; DROP TABLE provider_counts')
  assert.deepEqual(new JobStore(db).doneByProvider('j'), expected)
  assert.deepEqual(new JobStore(db).doneByProvider('j'), expected, 'a second open fills nothing twice')
})

test('a database whose trigger counted every inserted task loses it; range and listed jobs count right', () => {
  const db = openDatabase(':memory:')
  new JobStore(db)
  // As the version before left it: a trigger counting every inserted row.
  db.exec(`CREATE TRIGGER task_counts_insert AFTER INSERT ON tasks BEGIN
      INSERT INTO task_counts (job_id, state, n) VALUES (NEW.job_id, NEW.state, 1) ON CONFLICT (job_id, state) DO UPDATE SET n = n + 1;
    END;`)
  const store = new JobStore(db)
  const triggers = db.prepare('SELECT name FROM sqlite_master WHERE type = \'trigger\' AND tbl_name = \'tasks\' ORDER BY name').all().map(row => row.name)
  assert.deepEqual(triggers, ['provider_counts_done', 'task_counts_delete', 'task_counts_update'])
  store.createRangeJob('r', spec, '0x00', { args: ['{i}'], literal: 0, env: {}, inputs: [] }, 500)
  store.createJob('l', spec, '0x00', [{ args: ['a'], env: {}, inputs: [] }, { args: ['b'], env: {}, inputs: [] }])
  assert.deepEqual(store.taskCounts('r'), { queued: 500, running: 0, done: 0, failed: 0, cancelled: 0 }, 'counted once, not once per row as well')
  assert.deepEqual(store.taskCounts('l'), { queued: 2, running: 0, done: 0, failed: 0, cancelled: 0 })
  store.dispatch('r', [{ idx: 7, attempt: 1, peerId: 'p1', address: '0x1' }])
  assert.deepEqual(store.taskCounts('r'), { queued: 499, running: 1, done: 0, failed: 0, cancelled: 0 })
})

test('a range job stores one template, no definitions, and gives each task its own', () => {
  const db = openDatabase(':memory:')
  const store = new JobStore(db)
  const template = { args: ['sh', '-c', 'echo {i}', '--n={i}'], literal: 3, env: { A: '1' }, inputs: [{ name: 'x', cid: 'c', size: 1 }] }
  store.createRangeJob('r', spec, '0x00', template, 1000)
  assert.equal(store.job('r').taskCount, 1000)
  assert.deepEqual(store.taskCounts('r'), { queued: 1000, running: 0, done: 0, failed: 0, cancelled: 0 })
  assert.equal(db.prepare('SELECT count(*) AS n FROM tasks WHERE job_id = \'r\' AND definition != \'\'').get()!.n, 0)
  assert.deepEqual(store.definition('r', 999), { args: ['sh', '-c', 'echo {i}', '--n=999'], env: { A: '1' }, inputs: [{ name: 'x', cid: 'c', size: 1 }] })
  assert.deepEqual(store.definition('r', 7).args, ['sh', '-c', 'echo {i}', '--n=7'])
  store.dispatch('r', [{ idx: 42, attempt: 1, peerId: 'p1', address: '0x1' }])
  store.recordResults('r', [{ idx: 42, result: result(42, 1), event: 'accept', outputs: [] }])
  assert.deepEqual(store.endedTasks('r', 0, 10).map(task => [task.idx, task.args]), [[42, ['sh', '-c', 'echo {i}', '--n=42']]])
  assert.deepEqual(new JobStore(db).definition('r', 5).args, ['sh', '-c', 'echo {i}', '--n=5'], 'read back by a fresh store')
})

test('the accepted outcomes of a job are read in task order, page after page, done tasks only', () => {
  const store = new JobStore(openDatabase(':memory:'))
  const count = 25_003 // three pages of 10,000, the last one partly filled
  store.createRangeJob('r', spec, '0x00', { args: ['{i}'], literal: 0, env: {}, inputs: [] }, count)
  const all = Array.from({ length: count }, (_, idx) => idx)
  store.dispatch('r', all.map(idx => ({ idx, attempt: 1, peerId: 'p1', address: '0x1' })))
  // Task 7 is lost, so it is not done and has no accepted outcome.
  store.recordResults('r', all.filter(idx => idx !== 7).map(idx => ({ idx, result: result(idx, 1), event: 'accept' as const, outputs: [], outcomeHash: idx.toString(16).padStart(64, '0') })))
  const outcomes = [...store.acceptedOutcomes('r')]
  assert.deepEqual(outcomes.map(outcome => outcome.idx), all.filter(idx => idx !== 7))
  assert.ok(outcomes.every(({ idx, outcomeHash }) => outcomeHash === `0x${idx.toString(16).padStart(64, '0')}`), 'each its own hash, in 0x hex')
})
