import { ContentTooLargeError, EMPTY_OUTPUT, InvalidDagError } from '../storage/index.ts'
import { canonicalOutcome, checkOutputs, invalidOutput, outcomeHash, spotCheckProbability, storedOutcome, toleranceMatch, toleranceView } from '../validation/index.ts'
import type { ReturnedOutput, ReturnedReplica, StoredOutput, ToleranceView } from '../validation/index.ts'
import { ProviderPool } from './providerPool.ts'
import { ReceiptPacer } from './receiptPacer.ts'
import { tailMoves } from './tailMoves.ts'
import { TaskQueue } from './taskQueue.ts'
import { DETERMINISTIC_FAILURES } from './taskState.ts'
import type { JobStore } from './jobStore.ts'
import type { EvidenceStore } from './evidenceStore.ts'
import type { JobRecord, RecordedResult } from './jobRecords.ts'
import type { OpenLink, SignedBatch } from './providerLink.ts'
import type { PooledProvider } from './providerPool.ts'
import type { RequesterEvent } from './requesterEvents.ts'
import type { Settlement } from './settlement.ts'
import type { AgreementProposalBody, ConnectionPath, SignedOffer, TaskAssignment, TaskAttempt, TaskResult } from '../net/index.ts'
import { seededRandom } from '../util/index.ts'
import type { EventHub } from '../util/index.ts'
import type { Address } from 'viem'

export interface SchedulerConfig {
  /** Largest window of outstanding tasks asked of one provider. */
  readonly maxInFlightPerProvider: number
  /** Most providers one job uses at once. */
  readonly maxProviders: number
  /** Added to a task's timeout before its attempt is declared lost (fetching, transfer). */
  readonly deadlineGraceMs: number
  /** How long to leave a provider alone after its session failed. */
  readonly reconnectBackoffMs: number
  /** Seeds the spot checks of adaptive replication, so a run can be replayed (tests); null: unpredictable. */
  readonly spotCheckSeed: number | null
}

export interface JobRunDeps {
  readonly store: JobStore
  readonly evidence: EvidenceStore
  readonly events: EventHub<RequesterEvent>
  readonly settlement: Settlement
  readonly openLink: OpenLink
  /** Offers that meet the job's constraints, best first. */
  readonly candidates: (job: JobRecord) => SignedOffer[]
  /** Providers that get no work now (blacklisted). */
  readonly excluded: () => ReadonlySet<string>
  /** A provider's current run of valid replicated results (for adaptive replication). */
  readonly streakOf: (peerId: string) => number
  /** Subscribes to new offers; returns the unsubscribe function. */
  readonly onOffer: (listener: () => void) => () => void
  /** The IP address a provider is connected from, if it is connected. */
  readonly hostOf: (peerId: string) => string | undefined
  /**
   * Makes an output that came by CID local, fetching it from the provider, and answers its size;
   * content over `maxBytes` is refused with ContentTooLargeError, a malformed DAG with InvalidDagError.
   */
  readonly fetchOutput: (cid: string, fromPeer: string, maxBytes: number, signal: AbortSignal) => Promise<number>
  /** The bytes of an output made local by fetchOutput (to compare them within `compare.tolerance`). */
  readonly readOutput: (cid: string, maxBytes: number, signal: AbortSignal) => Promise<Uint8Array>
  readonly requester: Address
  readonly chainId: number
  readonly config: SchedulerConfig
  /** The time in ms (default Date.now): deadlines, backoff and waiting for providers are measured by it. */
  readonly clock?: () => number
  /**
   * Numbers in [0, 1) that draw adaptive replication's spot checks (default: seeded by
   * config.spotCheckSeed, else Math.random).
   */
  readonly random?: () => number
}

interface Outstanding {
  readonly idx: number
  readonly attempt: number
  readonly peerId: string
  deadline: number
  /** The provider said it started the task (until then it may wait behind the provider's others). */
  started?: true
}

type Outputs = ReturnedOutput[]

/** A result with what it means for its task, ready to be stored. */
type Decided = RecordedResult & {
  readonly provider: string
  /** Put the task back in the queue for another replica. */
  readonly requeue?: boolean
  /** Replicas judged by this result, with their providers' addresses (for reputation and pay). */
  readonly judged?: ReadonlyArray<{ peerId: string, address: string, attempt: number, verdict: 'valid' | 'invalid' | 'unchecked' }>
}

/** Receipts to one provider go out at most this often (each is a signature). */
const RECEIPT_INTERVAL_MS = 50

const outstandingKey = (idx: number, attempt: number) => `${idx}/${attempt}`

/**
 * Runs one job to its end: finds providers for it, streams tasks to each within its agreed window,
 * takes their results, and moves a task elsewhere when its provider fails, misses a deadline or
 * disappears. Everything it decides is written to the job store before it is acted on, so a
 * restarted node resumes the job where it stood.
 */
export class JobRun {
  readonly job: JobRecord
  private readonly deps: JobRunDeps
  // Per-task state is kept for open tasks only, and only once a task has any (a million queued
  // tasks cost their queue entry and closed byte); definitions are read from the store on dispatch.
  /** Attempts made so far, per open task that has had one. */
  private readonly attempts = new Map<number, number>()
  /** Providers that had an attempt, per open task that has had one. */
  private readonly triedBy = new Map<number, Set<string>>()
  /** The signed batch each returned replica came in, until the replica is judged. */
  private readonly batches = new Map<string, SignedBatch>()
  private readonly queue = new TaskQueue()
  private readonly outstanding = new Map<string, Outstanding>()
  /** Replicas that returned an outcome, per task, until the task is judged. */
  private readonly returned = new Map<number, ReturnedReplica[]>()
  /** Replicas back from their providers whose outputs are still being fetched or read, per task. */
  private readonly fetching = new Map<number, number>()
  /** With `compare.tolerance`: the returned replicas' views, per task, until the task is judged. */
  private readonly views = new Map<number, Map<number, ToleranceView>>()
  /** 1 per task ended (judged, failed or ended before a restart): late replicas of them change nothing. */
  private readonly closed: Uint8Array
  /** Since when queued tasks have had no provider at all (undefined while there is one). */
  private unservedSince: number | undefined
  /** Tasks a trusted provider runs alone (adaptive replication): quorum 1, and no verdict. */
  private readonly unreplicated = new Set<number>()
  /** Tasks moved at the job's tail (once each at most), with the provider each was moved to until it is sent there. */
  private readonly moved = new Map<number, string | undefined>()
  private readonly pool: ProviderPool
  private remaining = 0
  private fetches = 0
  private pumpScheduled = false
  /** Providers (PeerIds) whose receipt is behind what they are owed. */
  private readonly receipts = new ReceiptPacer(peerId => this.sendReceipt(peerId), RECEIPT_INTERVAL_MS)
  private finished = false
  private readonly stopController = new AbortController()
  /** Draws the spot checks of adaptive replication. */
  private readonly random: () => number
  private readonly now: () => number
  private timer: NodeJS.Timeout | undefined
  private unsubscribe: (() => void) | undefined
  private resolveDone!: () => void
  /** Settles when the job has ended (completed, failed or cancelled) or the run was stopped. */
  readonly done: Promise<void>

  constructor (job: JobRecord, deps: JobRunDeps) {
    this.job = job
    this.deps = deps
    this.closed = new Uint8Array(job.taskCount)
    this.random = deps.random ?? (deps.config.spotCheckSeed === null ? Math.random : seededRandom(deps.config.spotCheckSeed))
    this.now = deps.clock ?? Date.now
    this.pool = new ProviderPool({
      jobId: job.id,
      openLink: deps.openLink,
      events: deps.events,
      propose: (offer, agreementId) => this.proposal(offer, agreementId),
      hostOf: deps.hostOf,
      maxProviders: deps.config.maxProviders,
      reconnectBackoffMs: deps.config.reconnectBackoffMs,
      replication: job.spec.replication,
      distinctHosts: job.spec.distinctHosts === true,
      clock: this.now,
      handlers: {
        onLinked: provider => {
          // A provider linked again (e.g. after this node restarted) gets what it is owed so far at once.
          this.receipts.owe(provider.link.peerId)
          this.schedulePump()
        },
        onStarted: (provider, taskIds) => this.onStarted(provider, taskIds),
        onResults: (provider, results, batch) => this.onResults(provider, results, batch),
        onLost: (provider, tasks) => this.onLost(provider, tasks),
        // Its address may now be known (distinctHosts): replicas held back may go out.
        onMoved: () => this.schedulePump(),
        onClosed: (provider, reason) => this.onProviderGone(provider, reason),
      },
    })
    this.done = new Promise(resolve => { this.resolveDone = resolve })
  }

  /**
   * Starts scheduling. A `fresh` job was just stored, every task queued and never tried, so none is
   * read back (reading a million rows took seconds of a submission); a resumed one reads its open tasks.
   */
  start (fresh = false): void {
    if (fresh) this.queueEveryTask()
    else this.queueOpenTasks()
    this.unsubscribe = this.deps.onOffer(() => this.discover())
    this.timer = setInterval(() => {
      this.expireDeadlines()
      this.dropExcluded()
      this.discover()
      this.failUnserved()
    }, 250)
    this.timer.unref()
    this.discover()
    this.checkFinished()
  }

  private queueEveryTask (): void {
    this.remaining = this.job.taskCount
    for (let idx = 0; idx < this.job.taskCount; idx++) {
      for (let i = 0; i < this.job.spec.replication; i++) this.queue.push(idx)
    }
  }

  private queueOpenTasks (): void {
    // Only open tasks are read: every other one has ended.
    this.closed.fill(1)
    for (const task of this.deps.store.openTasks(this.job.id)) {
      this.closed[task.idx] = 0
      if (task.attempts > 0) this.attempts.set(task.idx, task.attempts)
      if (task.triedBy.length > 0) this.triedBy.set(task.idx, new Set(task.triedBy))
      this.remaining++
      // Replicas that returned before a restart still count towards the quorum.
      if (task.returned.length > 0) this.returned.set(task.idx, [...task.returned])
      // Top the replicas up to the job's replication; if they are all back and undecided, one more.
      const needed = task.returned.length === 0 ? this.job.spec.replication : Math.max(this.job.spec.replication - task.returned.length, 1)
      for (let i = 0; i < needed; i++) this.queue.push(task.idx)
    }
  }

  /** Stops scheduling without changing the job's state (node shutdown). */
  async stop (): Promise<void> {
    this.teardown()
    await this.pool.close()
    this.resolveDone()
  }

  /** Cancels every task still queued or running and ends the job as cancelled. */
  async cancel (): Promise<void> {
    for (const { link, inFlight } of this.pool.providers()) {
      if (inFlight.size > 0) link.cancel([...inFlight.keys()].map(String))
    }
    this.deps.store.cancelJob(this.job.id)
    await this.finish('cancelled')
  }

  providers (): Array<{ peerId: string, address: string, inFlight: number, maxInFlight: number, path: ConnectionPath }> {
    return [...this.pool.providers()].map(({ link, inFlight }) => ({ peerId: link.peerId, address: link.address, inFlight: inFlight.size, maxInFlight: link.maxInFlight, path: link.path() }))
  }

  /**
   * A provider blacklisted while it works for this job loses it: the session ends, its tasks go
   * elsewhere, and its replicas not yet judged stop counting towards any quorum.
   */
  private dropExcluded (): void {
    const excluded = this.deps.excluded()
    if (excluded.size === 0) return
    for (const peerId of this.pool.drop(excluded, 'blacklisted')) this.deps.store.discardReplicas(this.job.id, peerId)
    for (const [idx, replicas] of this.returned) {
      const kept = replicas.filter(replica => !excluded.has(replica.peerId))
      if (kept.length === replicas.length) continue
      this.returned.set(idx, kept)
      // Only a new replica's return judges the task again.
      if (this.replicasPending(idx) === 0 && this.attemptsLeft(idx)) this.queue.push(idx)
    }
    this.schedulePump()
  }

  /**
   * A job never hangs: when its queued tasks have had no provider (none matches, none answers) for
   * `waitForProvidersMs`, they fail with reason no-provider and the job ends.
   */
  private failUnserved (now = this.now()): void {
    // Nothing out while tasks queue: no provider will take them (none linked, or none allowed).
    if (this.finished || this.outstanding.size > 0 || this.queue.length === 0) {
      this.unservedSince = undefined
      return
    }
    this.unservedSince ??= now
    if (now - this.unservedSince < this.job.spec.waitForProvidersMs) return
    const indices = this.queue.drain().filter(idx => this.closed[idx] === 0)
    const message = `no provider took the task within ${this.job.spec.waitForProvidersMs} ms (check the job's constraints and conun peers)`
    this.deps.store.failTasks(this.job.id, indices, 'no-provider', message)
    for (const idx of indices) {
      this.forget(idx)
      this.remaining--
      this.deps.events.emit({ type: 'task.failed', jobId: this.job.id, idx, provider: null, reason: 'no-provider', message })
    }
    this.checkFinished()
  }

  private discover (): void {
    // Matching sorts every offer in the book: only when the pool would link another provider.
    if (this.finished || this.queue.length === 0 || !this.pool.wantsProviders()) return
    this.pool.discover(this.deps.candidates(this.job))
  }

  /** The agreement proposed to an offer's provider. */
  private proposal (offer: SignedOffer, agreementId: string): AgreementProposalBody {
    return {
      agreementId,
      jobId: this.job.id,
      chainId: this.deps.chainId,
      requester: this.deps.requester,
      provider: offer.body.provider,
      specHash: this.job.specHash,
      runtime: this.job.spec.runtime,
      limits: this.job.spec.limits,
      maxInFlight: Math.min(this.deps.config.maxInFlightPerProvider, offer.body.cores + 64),
      pricePerTaskWei: this.job.spec.priceWei ?? '0',
      escrow: this.deps.settlement.escrowOf(this.job.id),
      expiresAt: this.now() + 60_000,
    }
  }

  private schedulePump (): void {
    if (this.pumpScheduled || this.finished) return
    this.pumpScheduled = true
    setImmediate(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  /** Fills every provider's window from the queue, and records the dispatches before sending them. */
  private pump (): void {
    if (this.finished) return
    if (this.queue.length === 0) this.moveWaitingTasks()
    if (this.queue.length === 0) return
    const batches = new Map<PooledProvider, TaskAssignment[]>()
    const dispatches: Array<{ idx: number, attempt: number, peerId: string, address: string }> = []
    const now = this.now()
    const { spec } = this.job
    this.pool.fillWindows(provider => {
      const { peerId, address } = provider.link
      const idx = this.queue.take(idx => this.pool.mayTake(peerId, this.triedBy.get(idx)) && this.mayReceiveMoved(idx, peerId))
      if (idx === undefined) return false
      if (this.moved.get(idx) !== undefined) this.moved.set(idx, undefined)
      this.maybeTrust(idx, peerId)
      const attempt = (this.attempts.get(idx) ?? 0) + 1
      this.attempts.set(idx, attempt)
      this.triedBy.set(idx, (this.triedBy.get(idx) ?? new Set()).add(peerId))
      provider.inFlight.set(idx, attempt)
      // Until the provider says it started, the task may wait behind the rest of the window.
      const queued = Math.ceil(provider.inFlight.size / provider.cores)
      this.outstanding.set(outstandingKey(idx, attempt), { idx, attempt, peerId, deadline: now + spec.limits.timeoutMs * (queued + 1) + this.deps.config.deadlineGraceMs })
      dispatches.push({ idx, attempt, peerId, address })
      const batch = batches.get(provider) ?? []
      batch.push({ taskId: String(idx), attempt, module: spec.module, limits: spec.limits, ...this.deps.store.definition(this.job.id, idx) })
      batches.set(provider, batch)
      return true
    })
    if (dispatches.length === 0) return
    this.deps.store.dispatch(this.job.id, dispatches, now)
    for (const [provider, tasks] of batches) provider.link.assign(tasks)
    for (const d of dispatches) this.deps.events.emit({ type: 'task.dispatched', jobId: this.job.id, idx: d.idx, attempt: d.attempt, provider: d.peerId })
  }

  private onStarted (state: PooledProvider, taskIds: readonly string[]): void {
    const now = this.now()
    for (const taskId of taskIds) {
      const attempt = state.inFlight.get(Number(taskId))
      const entry = attempt === undefined ? undefined : this.outstanding.get(outstandingKey(Number(taskId), attempt))
      if (entry === undefined) continue
      entry.deadline = now + this.job.spec.limits.timeoutMs + this.deps.config.deadlineGraceMs
      entry.started = true
    }
  }

  /**
   * With nothing queued, tasks waiting at a provider behind its running ones go back to the queue
   * for providers with an idle core (see tailMoves), each once at most: the attempt at the first
   * provider is cancelled and ends as lost ('moved'), and does not count against maxAttempts.
   */
  private moveWaitingTasks (): void {
    const providers = [...this.pool.providers()].map(({ link, cores, inFlight, taskMs }) => ({ peerId: link.peerId, cores, inFlight: inFlight.size, taskMs }))
    // Called on every result once the queue is empty: the tasks out are looked at only when a core is idle.
    if (!providers.some(provider => provider.inFlight < provider.cores)) return
    const waiting = [...this.outstanding.values()].filter(entry => entry.started !== true && !this.moved.has(entry.idx))
    for (const { task, to } of tailMoves(providers, waiting, (peerId, idx) => this.pool.mayTake(peerId, this.triedBy.get(idx)))) {
      const key = outstandingKey(task.idx, task.attempt)
      this.outstanding.delete(key)
      const holder = this.pool.get(task.peerId)
      holder?.inFlight.delete(task.idx)
      holder?.link.cancel([String(task.idx)])
      const others = this.replicasPending(task.idx) > 0 || (this.returned.get(task.idx)?.length ?? 0) > 0
      if (!this.deps.store.loseAttempt(this.job.id, task.idx, task.attempt, others ? 'none' : 'retry', 'moved', `it waited at ${task.peerId} while ${to} had an idle core`)) continue
      this.moved.set(task.idx, to)
      this.queue.push(task.idx)
      this.deps.events.emit({ type: 'task.retry', jobId: this.job.id, idx: task.idx, provider: task.peerId, reason: 'moved' })
    }
  }

  /** A moved task goes to the provider it was moved to, while that one is linked. */
  private mayReceiveMoved (idx: number, peerId: string): boolean {
    const to = this.moved.get(idx)
    return to === undefined || to === peerId || this.pool.get(to) === undefined
  }

  private onResults (state: PooledProvider, results: readonly TaskResult[], batch: SignedBatch): void {
    const ready: Decided[] = []
    for (const result of results) {
      const idx = Number(result.taskId)
      const entry = this.outstanding.get(outstandingKey(idx, result.attempt))
      // A result for an attempt we no longer wait for (late, duplicate, or from elsewhere) changes nothing.
      if (entry === undefined || entry.peerId !== state.link.peerId) continue
      this.batches.set(outstandingKey(idx, result.attempt), batch)
      this.outstanding.delete(outstandingKey(idx, result.attempt))
      state.inFlight.delete(idx)
      this.pool.recordPace(state, result.usage.wallMs)
      const checked = checkOutputs(result, this.job.spec.limits.outputBytes)
      if (this.closed[idx] === 1) {
        // A replica of a task already judged: it ends, and says nothing more.
        ready.push({ idx, result, event: 'none', outputs: [], provider: state.link.peerId })
      } else if ('invalid' in checked) {
        ready.push(this.failure(idx, state.link.peerId, checked.invalid, [{ peerId: state.link.peerId, address: state.link.address, attempt: result.attempt, verdict: 'invalid' }]))
      } else if (result.status === 'exit' && (checked.outputs.some(output => output.inline === undefined) || this.hasTolerancedFiles(result))) {
        this.fetches++
        this.fetching.set(idx, (this.fetching.get(idx) ?? 0) + 1)
        void this.fetchThenJudge(state, idx, result, checked.outputs)
      } else if (result.status === 'exit' || DETERMINISTIC_FAILURES.has(result.reason ?? '')) {
        ready.push(this.judge(idx, state, result, checked.outputs))
      } else {
        ready.push(this.failure(idx, state.link.peerId, result))
      }
    }
    this.record(ready)
    this.schedulePump()
  }

  /**
   * A replica returned an outcome (an exit, or a failure any provider would see). Once the replicas
   * settle on one (see canonicalOutcome), the task is judged: agreeing replicas were valid, the
   * others invalid. Until then the task waits for the replicas out, then gets one more.
   */
  private judge (idx: number, state: PooledProvider, result: TaskResult, outputs: Outputs, view?: ToleranceView): Decided {
    const single = this.unreplicated.has(idx)
    const replicas = this.returned.get(idx) ?? []
    const views = this.views.get(idx)
    const hash = view === undefined
      ? outcomeHash(result, this.job.spec.compare)
      : toleranceMatch(view, replicas.map(replica => ({ outcomeHash: replica.outcomeHash, view: views?.get(replica.attempt) })), this.job.spec.compare ?? {})
    if (view !== undefined) this.views.set(idx, (views ?? new Map()).set(result.attempt, view))
    replicas.push({ attempt: result.attempt, peerId: state.link.peerId, address: state.link.address, outcomeHash: hash, status: result.status, exitCode: result.exitCode ?? null, reason: result.reason ?? null })
    this.returned.set(idx, replicas)
    const provider = state.link.peerId
    const pending = this.replicasPending(idx)
    const quorum = single ? 1 : this.job.spec.quorum
    const winner = canonicalOutcome(replicas, pending, quorum, single ? 1 : this.job.spec.replication)
    if (winner !== undefined) {
      this.closeTask(idx)
      const agreeing = replicas.filter(replica => replica.outcomeHash === winner)
      const first = agreeing[0]!
      // An unchecked result earns no trust (only replicated results move a provider's record), but is paid.
      const judged = replicas.map(replica => ({ peerId: replica.peerId, address: replica.address, attempt: replica.attempt, verdict: single ? 'unchecked' as const : replica.outcomeHash === winner ? 'valid' as const : 'invalid' as const }))
      const canonical = {
        attempt: first.attempt,
        valid: agreeing.map(replica => replica.attempt),
        invalid: replicas.filter(replica => replica.outcomeHash !== winner).map(replica => replica.attempt),
      }
      const verdict = { status: first.status, exitCode: first.exitCode, reason: first.reason }
      return { idx, result, event: first.status === 'exit' ? 'accept' : 'fail', outputs, outcomeHash: hash, canonical, verdict, provider: first.peerId, judged }
    }
    if (pending > 0) return { idx, result, event: 'hold', outputs, outcomeHash: hash, provider }
    if (this.attemptsLeft(idx)) return { idx, result, event: 'hold', outputs, outcomeHash: hash, provider, requeue: true }
    this.closeTask(idx)
    const agreeing = this.job.spec.compare?.tolerance === undefined ? 'identical' : 'agreeing (within compare.tolerance)'
    const message = `no ${quorum} ${agreeing} outcomes from ${replicas.length} replicas`
    return { idx, result: { ...result, status: 'failed', exitCode: undefined, reason: 'no-quorum', message }, event: 'fail', outputs: [], outcomeHash: hash, provider }
  }

  private hasTolerancedFiles (result: TaskResult): boolean {
    const tolerance = this.job.spec.compare?.tolerance
    return tolerance !== undefined && result.files.some(file => tolerance[file.path] !== undefined)
  }

  /**
   * A returned replica's view, and those of the task's earlier replicas not seen yet (returned
   * before a restart: read back from the job store and local storage).
   */
  private async loadViews (idx: number, result: TaskResult, outputs: Outputs, signal: AbortSignal): Promise<ToleranceView> {
    const { compare = {} } = this.job.spec
    const read = async (output: StoredOutput) => this.deps.readOutput(output.cid, output.size, signal)
    for (const replica of this.returned.get(idx) ?? []) {
      if (replica.status !== 'exit' || this.views.get(idx)?.has(replica.attempt) === true) continue
      const stored = this.deps.store.attemptOutputs(this.job.id, idx, replica.attempt)
      const view = await toleranceView(storedOutcome(replica, stored), stored, compare, read)
      this.views.set(idx, (this.views.get(idx) ?? new Map()).set(replica.attempt, view))
    }
    return toleranceView(result, outputs, compare, read)
  }

  /**
   * With adaptive replication, the first replica of a task going to a trusted provider may be the
   * only one: its other replicas leave the queue, and its result is accepted unchecked.
   */
  private maybeTrust (idx: number, peerId: string): void {
    const { spec } = this.job
    if (!spec.adaptive || spec.replication === 1 || (this.attempts.get(idx) ?? 0) > 0 || this.unreplicated.has(idx)) return
    if (this.random() < spotCheckProbability(this.deps.streakOf(peerId))) return
    this.unreplicated.add(idx)
    this.queue.remove(idx)
  }

  /** A replica failed through its provider (timeout, lost, error, invalid output): try another, if attempts are left. */
  private failure (idx: number, provider: string, result: TaskResult, judged?: Decided['judged']): Decided {
    // A task that ran unchecked and failed goes back to full replication.
    this.unreplicated.delete(idx)
    const others = this.replicasPending(idx) > 0 || (this.returned.get(idx)?.length ?? 0) > 0
    if (this.attemptsLeft(idx)) return { idx, result, event: others ? 'none' : 'retry', outputs: [], provider, requeue: true, ...(judged === undefined ? {} : { judged }) }
    if (others) return { idx, result, event: 'none', outputs: [], provider, ...(judged === undefined ? {} : { judged }) }
    this.closeTask(idx)
    return { idx, result, event: 'fail', outputs: [], provider, ...(judged === undefined ? {} : { judged }) }
  }

  /** Attempts a task may still make: maxAttempts per replica (a move at the job's tail is not one). */
  private attemptsLeft (idx: number): boolean {
    const queued = this.queue.count(idx)
    const made = (this.attempts.get(idx) ?? 0) - (this.moved.has(idx) ? 1 : 0)
    return made + queued < this.job.spec.maxAttempts * this.job.spec.replication
  }

  /** Replicas still out at providers, back but being fetched, or waiting in the queue. */
  private replicasPending (idx: number): number {
    let out = this.fetching.get(idx) ?? 0
    for (const entry of this.outstanding.values()) if (entry.idx === idx) out++
    return out + (this.job.spec.replication > 1 ? this.queue.count(idx) : 0)
  }

  /** The task is judged: drop its queued replicas and cancel those still out. */
  private closeTask (idx: number): void {
    this.forget(idx)
    if (this.job.spec.replication === 1) return
    this.queue.remove(idx)
    for (const [key, entry] of this.outstanding) {
      if (entry.idx !== idx) continue
      this.outstanding.delete(key)
      const state = this.pool.get(entry.peerId)
      state?.inFlight.delete(idx)
      state?.link.cancel([String(idx)])
      this.deps.store.loseAttempt(this.job.id, idx, entry.attempt, 'none', 'not-needed', 'the task reached its quorum without this replica')
    }
  }

  /** The task has ended: it is marked closed, and what was kept for it while open is dropped. */
  private forget (idx: number): void {
    this.closed[idx] = 1
    this.attempts.delete(idx)
    this.triedBy.delete(idx)
    this.returned.delete(idx)
    this.views.delete(idx)
    this.unreplicated.delete(idx)
    this.moved.delete(idx)
  }

  /**
   * Fetches the outputs that came by CID, each held to the size the provider claimed for it: one
   * whose DAG declares or holds another size is a lie, judged like an output that misses its CID.
   * Under `compare.tolerance` it then reads the bytes the comparison needs.
   */
  private async fetchThenJudge (state: PooledProvider, idx: number, result: TaskResult, outputs: Outputs): Promise<void> {
    const size = outputs.reduce((sum, output) => sum + output.size, 0)
    // 30 s, plus 1 s per MB: even a slow peer moves a megabyte a second.
    const signal = AbortSignal.any([this.stopController.signal, AbortSignal.timeout(30_000 + Math.ceil(size / 1000))])
    const provider = state.link.peerId
    // Until it is judged or fails, the replica counts as pending: a replica judged meanwhile waits for it.
    let pending = true
    const settle = () => {
      if (!pending) return
      pending = false
      const left = (this.fetching.get(idx) ?? 1) - 1
      if (left === 0) this.fetching.delete(idx)
      else this.fetching.set(idx, left)
    }
    try {
      for (const output of outputs) {
        if (output.inline !== undefined) continue
        const fetched = await this.deps.fetchOutput(output.cid, provider, output.size, signal)
        if (fetched !== output.size) throw new InvalidDagError(output.cid, `it holds ${fetched} bytes where the provider claims ${output.size}`)
      }
      const view = this.hasTolerancedFiles(result) ? await this.loadViews(idx, result, outputs, signal) : undefined
      settle()
      this.record([this.closed[idx] === 1 ? { idx, result, event: 'none', outputs: [], provider } : this.judge(idx, state, result, outputs, view)])
    } catch (error) {
      settle()
      if (this.stopController.signal.aborted || this.closed[idx] === 1) return
      if (error instanceof ContentTooLargeError || error instanceof InvalidDagError) {
        const invalid = invalidOutput(result, `the provider's output ${error.message}`)
        this.record([this.failure(idx, provider, invalid, [{ peerId: provider, address: state.link.address, attempt: result.attempt, verdict: 'invalid' }])])
      } else {
        this.record([this.failure(idx, provider, { ...result, status: 'failed', exitCode: undefined, reason: 'fetch-failed', message: `could not fetch the outputs: ${(error as Error).message}` })])
      }
    } finally {
      this.fetches--
      this.schedulePump()
      this.checkFinished()
    }
  }

  private record (entries: Decided[]): void {
    if (entries.length === 0 || this.finished) return
    const applied = new Set(this.deps.store.recordResults(this.job.id, entries))
    const paid = new Map<string, { address: string, count: number }>()
    for (const { idx, event, result, provider, requeue, judged, verdict } of entries) {
      if (!applied.has(idx)) continue
      if (requeue === true) this.queue.push(idx)
      for (const { peerId, address, attempt, verdict } of judged ?? []) {
        this.deps.events.emit({ type: 'result.judged', jobId: this.job.id, idx, provider: peerId, verdict })
        // A result judged wrong is kept with the provider's signature over it: proof of misbehaviour.
        const batch = this.batches.get(outstandingKey(idx, attempt))
        if (verdict === 'invalid' && batch !== undefined) this.deps.evidence.keep(this.job.id, idx, attempt, peerId, batch)
        this.batches.delete(outstandingKey(idx, attempt))
        if (verdict !== 'invalid' && event === 'accept' && address !== '') paid.set(peerId, { address, count: (paid.get(peerId)?.count ?? 0) + 1 })
      }
      // Only once judged: the result recorded here may be one of those judged wrong just above.
      if (event !== 'hold') this.batches.delete(outstandingKey(idx, result.attempt))
      if (event === 'accept') {
        this.remaining--
        this.deps.events.emit({ type: 'task.done', jobId: this.job.id, idx, provider, exitCode: verdict?.exitCode ?? result.exitCode ?? 0, wallMs: result.usage.wallMs })
      } else if (event === 'fail') {
        this.remaining--
        const reason = verdict?.reason ?? result.reason ?? 'internal'
        this.deps.events.emit({ type: 'task.failed', jobId: this.job.id, idx, provider, reason, message: reason === result.reason ? result.message ?? '' : `replicas agreed on ${reason}` })
      } else if (event === 'hold') {
        this.deps.events.emit({ type: 'task.validating', jobId: this.job.id, idx, provider })
      } else if (result.status === 'failed' && (event === 'retry' || event === 'none')) {
        this.deps.events.emit({ type: 'task.retry', jobId: this.job.id, idx, provider, reason: result.reason ?? 'internal' })
      }
    }
    for (const [peerId, { address, count }] of paid) {
      this.deps.settlement.resultsAccepted(this.job, address, count)
      this.receipts.owe(peerId)
    }
    this.checkFinished()
  }

  /** The provider's latest cumulative receipt for this job, if it is still linked. */
  private sendReceipt (peerId: string): void {
    const state = this.pool.get(peerId)
    if (state === undefined) return
    const receipt = this.deps.settlement.receipt(this.job, state.link.agreementId, state.link.address)
    if (receipt !== undefined) state.link.sendReceipt(receipt)
  }

  /** An attempt ended without a result (deadline missed, provider gone). */
  private loseAttempt (key: string, reason: string, message: string): void {
    const entry = this.outstanding.get(key)
    if (entry === undefined) return
    this.outstanding.delete(key)
    this.pool.get(entry.peerId)?.inFlight.delete(entry.idx)
    const lost: TaskResult = { taskId: String(entry.idx), attempt: entry.attempt, status: 'failed', reason: 'internal', message, stdout: EMPTY_OUTPUT, stderr: EMPTY_OUTPUT, files: [], usage: { wallMs: 0, memoryBytes: 0 } }
    const decided = this.failure(entry.idx, entry.peerId, lost)
    const event = decided.event as 'retry' | 'fail' | 'none'
    if (!this.deps.store.loseAttempt(this.job.id, entry.idx, entry.attempt, event, reason, message)) return
    if (decided.requeue === true) this.queue.push(entry.idx)
    if (event === 'fail') {
      this.remaining--
      this.deps.events.emit({ type: 'task.failed', jobId: this.job.id, idx: entry.idx, provider: entry.peerId, reason, message })
    } else {
      this.deps.events.emit({ type: 'task.retry', jobId: this.job.id, idx: entry.idx, provider: entry.peerId, reason })
    }
  }

  private expireDeadlines (): void {
    const now = this.now()
    const late = new Map<string, Outstanding[]>()
    for (const entry of this.outstanding.values()) {
      if (entry.deadline > now) continue
      late.set(entry.peerId, [...(late.get(entry.peerId) ?? []), entry])
    }
    for (const [peerId, entries] of late) {
      this.pool.get(peerId)?.link.cancel(entries.map(entry => String(entry.idx)))
      for (const entry of entries) this.loseAttempt(outstandingKey(entry.idx, entry.attempt), 'deadline-missed', `no result from ${peerId} before the deadline`)
    }
    if (late.size > 0) {
      this.schedulePump()
      this.checkFinished()
    }
  }

  /** Attempts a resumed session's provider no longer had (lost with the broken stream): they go out again. */
  private onLost (state: PooledProvider, tasks: readonly TaskAttempt[]): void {
    for (const task of tasks) this.loseAttempt(outstandingKey(Number(task.taskId), task.attempt), 'provider-lost', `provider ${state.link.peerId} lost the task with a broken connection`)
    this.schedulePump()
  }

  /** A provider left the pool (link closed, or blacklisted): the attempts it held go out again. */
  private onProviderGone (state: PooledProvider, reason: string): void {
    for (const [idx, attempt] of [...state.inFlight]) this.loseAttempt(outstandingKey(idx, attempt), 'provider-lost', `provider ${state.link.peerId} went away: ${reason}`)
    this.schedulePump()
    this.checkFinished()
  }

  private checkFinished (): void {
    if (this.finished || this.remaining > 0 || this.fetches > 0) return
    const counts = this.deps.store.taskCounts(this.job.id)
    void this.finish(counts.failed > 0 ? 'failed' : 'completed')
  }

  private async finish (state: 'completed' | 'failed' | 'cancelled'): Promise<void> {
    if (this.finished) return
    this.receipts.flush()
    this.teardown()
    if (state !== 'cancelled') this.deps.store.finishJob(this.job.id, state)
    this.deps.events.emit({ type: 'job.finished', jobId: this.job.id, state })
    await this.pool.close()
    await this.deps.settlement.closeJob(this.job)
    this.resolveDone()
  }

  private teardown (): void {
    this.finished = true
    clearInterval(this.timer)
    this.receipts.stop()
    this.unsubscribe?.()
    this.stopController.abort()
    this.pool.stop()
  }
}
