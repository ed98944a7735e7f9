// The scheduler on its own: a JobRun over an in-memory job store and fake provider links, so its
// decisions (windows, results, replicas, lost providers) are checked without a network.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateNodeKey } from '../identity/index.ts'
import { createOffer } from '../market/index.ts'
import { EMPTY_OUTPUT, inlineCid } from '../storage/index.ts'
import { EventHub, openDatabase, toBase64 } from '../util/index.ts'
import { DEFAULT_SCHEDULER_CONFIG } from './createRequester.ts'
import { EvidenceStore } from './evidenceStore.ts'
import { JobRun } from './jobRun.ts'
import type { JobRunDeps } from './jobRun.ts'
import { JobStore } from './jobStore.ts'
import { unpaid } from './settlement.ts'
import type { LinkHandlers, OpenLink, ProviderLink } from './providerLink.ts'
import type { ResolvedJob } from './jobRecords.ts'
import type { RequesterEvent } from './requesterEvents.ts'
import type { SignedOffer, TaskAssignment, TaskResult } from '../net/index.ts'

const spec: ResolvedJob = {
  name: 'unit', runtime: 'wasi', module: { cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', size: 0 },
  limits: { memoryBytes: 1 << 20, timeoutMs: 60_000, outputBytes: 1 << 20 }, constraints: {}, maxAttempts: 3, replication: 1, quorum: 1, adaptive: false, priceWei: '0', budgetWei: '0', waitForProvidersMs: 60_000,
}

/** A provider as the scheduler sees it: what it was assigned, and a way to answer. */
class FakeLink implements ProviderLink {
  readonly peerId: string
  readonly address: string
  readonly agreementId: string
  readonly maxInFlight: number
  readonly assigned: TaskAssignment[] = []
  readonly handlers: LinkHandlers
  closed = false

  constructor (offer: SignedOffer, agreementId: string, maxInFlight: number, handlers: LinkHandlers) {
    this.peerId = offer.body.peerId
    this.address = offer.body.provider
    this.agreementId = agreementId
    this.maxInFlight = maxInFlight
    this.handlers = handlers
  }

  path () { return 'direct' as const }
  rttMs () { return 1 }
  readonly cancelled: string[] = []
  assign (tasks: readonly TaskAssignment[]) { this.assigned.push(...tasks) }
  cancel (taskIds: readonly string[]) { this.cancelled.push(...taskIds) }
  sendReceipt () {}
  async close () { this.closed = true }

  /** Answers each assignment not yet answered with `stdout(taskId)` (the honest answer by default). */
  answer (stdout: (taskId: string) => string = taskId => `result ${taskId}`): void {
    const results = this.assigned.splice(0).map(task => exitResult(task, stdout(task.taskId)))
    this.handlers.onResults(results, { body: { agreementId: this.agreementId, jobId: 'j', chainId: 31337, provider: this.address, results }, signature: '0x' })
  }
}

function exitResult (task: TaskAssignment, stdout: string): TaskResult {
  const bytes = new TextEncoder().encode(stdout)
  return { taskId: task.taskId, attempt: task.attempt, status: 'exit', exitCode: 0, stdout: { cid: inlineCid(bytes), size: bytes.byteLength, inline: toBase64(bytes) }, stderr: EMPTY_OUTPUT, files: [], usage: { wallMs: 1, memoryBytes: 0 } }
}

async function schedulerWith (job: Partial<ResolvedJob>, tasks: number | { range: number }, providers: number, maxInFlight = 4, injected: Partial<Pick<JobRunDeps, 'clock' | 'random' | 'streakOf'>> = {}, before?: (store: JobStore) => void) {
  const db = openDatabase(':memory:')
  const store = new JobStore(db)
  if (typeof tasks === 'number') store.createJob('j', { ...spec, ...job }, '0x00', Array.from({ length: tasks }, (_, i) => ({ args: [String(i)], env: {}, inputs: [] })))
  else store.createRangeJob('j', { ...spec, ...job }, '0x00', { args: ['{i}'], literal: 0, env: {}, inputs: [] }, tasks.range)
  before?.(store)
  const offers: SignedOffer[] = await Promise.all(Array.from({ length: providers }, async () => createOffer(await generateNodeKey(), { chainId: 31337, runtimes: ['wasi'], cores: 1, memoryBytes: 1 << 30, cpuModel: 'test', pricePerTaskWei: '0', addrs: [] }, 60_000)))
  const links = new Map<string, FakeLink>()
  const openLink: OpenLink = async (offer, proposal, handlers) => {
    const link = new FakeLink(offer, proposal.agreementId, maxInFlight, handlers)
    links.set(link.peerId, link)
    return link
  }
  const events = new EventHub<RequesterEvent>()
  const evidence = new EvidenceStore(db)
  const run = new JobRun(store.job('j'), {
    store, evidence, events, settlement: unpaid, openLink,
    candidates: () => offers, excluded: () => new Set(), streakOf: () => 0, onOffer: () => () => {}, hostOf: () => undefined,
    fetchOutput: async () => { throw new Error('every output here is inline') },
    readOutput: async () => { throw new Error('every output here is inline') },
    requester: '0x0000000000000000000000000000000000000002', chainId: 31337, config: DEFAULT_SCHEDULER_CONFIG, ...injected,
  })
  // As the requester does: a job just stored starts fresh, one changed before (a restart) reads its open tasks.
  run.start(before === undefined)
  await waitUntil(() => links.size === providers)
  return { run, store, evidence, events, links: [...links.values()] }
}

async function waitUntil (ready: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !ready(); i++) await new Promise(resolve => setTimeout(resolve, 5))
  assert.ok(ready(), 'the scheduler got there')
}

test('the scheduler fills each provider\'s window, widens it once the provider\'s pace is known, and completes the job', async () => {
  const { run, store, links: [link] } = await schedulerWith({}, 10, 1, 4)
  // Before any result: its cores and one queued task.
  await waitUntil(() => link!.assigned.length === 2)
  assert.deepEqual(link!.assigned.map(task => task.taskId), ['0', '1'])
  link!.answer()
  // Tasks of 1 ms: the agreed window of 4, in order.
  await waitUntil(() => link!.assigned.length === 4)
  assert.deepEqual(link!.assigned.map(task => task.taskId), ['2', '3', '4', '5'])
  link!.answer()
  await waitUntil(() => link!.assigned.length === 4)
  link!.answer()
  await run.done
  assert.equal(store.job('j').state, 'completed')
  assert.deepEqual(store.outcomes('j').map(task => [task.state, task.attempts, task.provider]), Array.from({ length: 10 }, () => ['done', 1, link!.peerId]))
})

test('at the job\'s tail, a task waiting behind another at a slow provider moves to a provider whose core is idle, and the move is not one of its attempts', async () => {
  // One attempt allowed: the move does not use it up.
  const { run, store, events, links } = await schedulerWith({ maxAttempts: 1 }, 4, 2, 4)
  const [fast, slow] = links
  await waitUntil(() => fast!.assigned.length === 2 && slow!.assigned.length === 2)
  const [running, waiting] = slow!.assigned
  slow!.handlers.onStarted([running!.taskId])
  const retries: string[] = []
  events.on(event => { if (event.type === 'task.retry') retries.push(`${event.idx} ${event.reason}`) })
  // The fast provider is done with both of its tasks while the slow one still runs its first.
  fast!.answer()
  await waitUntil(() => fast!.assigned.length === 1)
  assert.deepEqual(fast!.assigned.map(task => [task.taskId, task.attempt]), [[waiting!.taskId, 2]])
  assert.deepEqual(slow!.cancelled, [waiting!.taskId])
  assert.deepEqual(retries, [`${waiting!.taskId} moved`])
  fast!.answer()
  slow!.assigned.splice(1)
  slow!.answer()
  await run.done
  assert.equal(store.job('j').state, 'completed')
  const moved = store.outcomes('j').find(task => task.idx === Number(waiting!.taskId))!
  assert.deepEqual([moved.state, moved.attempts, moved.provider], ['done', 2, fast!.peerId])
})

test('a provider whose link closes loses its replicas to the provider that holds none of those tasks; the job completes', async () => {
  const { run, store, links } = await schedulerWith({ replication: 2, quorum: 2 }, 2, 3, 4)
  const [first, second, third] = links
  await waitUntil(() => first!.assigned.length + second!.assigned.length + third!.assigned.length === 4)
  const holder = links.find(link => link.assigned.length > 0)!
  holder.assigned.length = 0
  holder.handlers.onClosed('gone')
  // The replicas it held go to the one provider that does not already hold the same task.
  await waitUntil(() => links.filter(link => link !== holder).reduce((sum, link) => sum + link.assigned.length, 0) === 4)
  for (const link of links.filter(link => link !== holder)) assert.ok(new Set(link.assigned.map(task => task.taskId)).size === link.assigned.length, 'never two replicas of a task on one provider')
  // The two that are left agree on everything: the job completes with both replicas valid.
  for (const link of links.filter(link => link !== holder)) link.answer()
  await run.done
  assert.equal(store.job('j').state, 'completed')
})

test('two replicas that disagree get a third opinion; the odd one out is judged invalid, with its signed batch kept', async () => {
  const { run, store, evidence, links } = await schedulerWith({ replication: 2, quorum: 2 }, 1, 3, 4)
  await waitUntil(() => links.filter(link => link.assigned.length > 0).length === 2)
  const [honest, liar] = links.filter(link => link.assigned.length > 0)
  const third = links.find(link => link !== honest && link !== liar)!
  honest!.answer()
  liar!.answer(() => 'a lie')
  await waitUntil(() => third.assigned.length === 1)
  third.answer()
  await run.done
  const [task] = store.outcomes('j')
  assert.deepEqual([task?.state, task?.provider === honest!.peerId || task?.provider === third.peerId], ['done', true])
  assert.deepEqual(store.acceptedCounts('j'), new Map([[honest!.address, 1], [third.address, 1]]), 'the two agreeing replicas are the valid ones')
  assert.deepEqual(evidence.of(liar!.peerId).map(kept => [kept.jobId, kept.idx, kept.batch.body.results[0]?.taskId]), [['j', 0, '0']])
})

test('a task past its deadline (by the injected clock) goes to another provider, and the late result changes nothing', async () => {
  let time = 1_000_000
  const { run, store, links } = await schedulerWith({}, 1, 2, 4, { clock: () => time })
  await waitUntil(() => links.some(link => link.assigned.length === 1))
  const slow = links.find(link => link.assigned.length === 1)!
  const other = links.find(link => link !== slow)!
  const late = [...slow.assigned]
  // It says it started the task: the deadline is then the task's time limit and the grace from now.
  slow.handlers.onStarted(['0'])
  time += spec.limits.timeoutMs + DEFAULT_SCHEDULER_CONFIG.deadlineGraceMs + 1
  await waitUntil(() => other.assigned.length === 1)
  assert.equal(other.assigned[0]?.attempt, 2)
  slow.assigned.push(...late)
  slow.answer(() => 'too late')
  other.answer()
  await run.done
  const [task] = store.outcomes('j')
  assert.deepEqual([task?.state, task?.provider, task?.attempts], ['done', other.peerId, 2])
})

test('adaptive replication draws its spot checks from the injected random source: a trusted provider\'s task runs once unless the draw falls under the spot-check probability', async () => {
  // A streak of 20 valid results: spot-checked with probability 10 / 20.
  for (const [draw, runs, verdict] of [[0.51, 1, 'unchecked'], [0.49, 2, 'valid']] as const) {
    const { run, store, events, links } = await schedulerWith({ replication: 2, quorum: 2, adaptive: true }, 1, 2, 4, { random: () => draw, streakOf: () => 20 })
    const verdicts: string[] = []
    events.on(event => { if (event.type === 'result.judged') verdicts.push(event.verdict) })
    await waitUntil(() => links.reduce((sum, link) => sum + link.assigned.length, 0) === runs)
    for (const link of links) link.answer()
    await run.done
    const [task] = store.outcomes('j')
    assert.deepEqual([task?.state, task?.attempts, verdicts], ['done', runs, Array.from({ length: runs }, () => verdict)], `draw ${draw}`)
  }
})

/** Answers what `link` is assigned until `count` tasks have come; returns them in the order they came. */
async function answerUntil (link: FakeLink, count: number): Promise<TaskAssignment[]> {
  const sent: TaskAssignment[] = []
  while (sent.length < count) {
    await waitUntil(() => link.assigned.length > 0)
    sent.push(...link.assigned)
    link.answer()
  }
  return sent
}

test('a job resumed after a restart dispatches only its open tasks, each with its own definition read from the store', async () => {
  const { run, store, links: [link] } = await schedulerWith({}, 5, 1, 4, {}, store => {
    // Before the restart: task 0 done, task 1 out at a provider, task 3 failed.
    store.dispatch('j', [{ idx: 0, attempt: 1, peerId: 'old', address: '0x1' }, { idx: 1, attempt: 1, peerId: 'old', address: '0x1' }, { idx: 3, attempt: 1, peerId: 'old', address: '0x1' }])
    store.recordResults('j', [{ idx: 0, result: exitResult({ taskId: '0', attempt: 1 } as TaskAssignment, 'x'), event: 'accept', outputs: [] }])
    store.loseAttempt('j', 3, 1, 'fail', 'provider-lost', 'gone')
    store.recoverJob('j')
  })
  const sent = await answerUntil(link!, 3)
  await run.done
  assert.deepEqual(sent.map(task => [task.taskId, task.args, task.attempt]), [['1', ['1'], 2], ['2', ['2'], 1], ['4', ['4'], 1]])
  assert.deepEqual(store.taskCounts('j'), { queued: 0, running: 0, done: 4, failed: 1, cancelled: 0 })
  assert.equal(store.job('j').state, 'failed')
})

test('a range job resumed after a restart dispatches its open tasks with the definitions its template gives them', async () => {
  const { run, store, links: [link] } = await schedulerWith({}, { range: 4 }, 1, 4, {}, store => {
    store.dispatch('j', [{ idx: 0, attempt: 1, peerId: 'old', address: '0x1' }, { idx: 2, attempt: 1, peerId: 'old', address: '0x1' }])
    store.recordResults('j', [{ idx: 2, result: exitResult({ taskId: '2', attempt: 1 } as TaskAssignment, 'x'), event: 'accept', outputs: [] }])
    store.recoverJob('j')
  })
  const sent = await answerUntil(link!, 3)
  await run.done
  assert.deepEqual(sent.map(task => [task.taskId, task.args, task.attempt]), [['0', ['0'], 2], ['1', ['1'], 1], ['3', ['3'], 1]])
  assert.equal(store.job('j').state, 'completed')
})
