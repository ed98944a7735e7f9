import { inlineCid } from '../storage/index.ts'
import { DETERMINISTIC_FAILURES } from './taskState.ts'
import type { JobRecord, JobStore, StoredOutput, TaskDefinition } from './jobStore.ts'
import type { LinkHandlers, OpenLink, ProviderLink } from './providerLink.ts'
import type { RequesterEvent } from './requesterEvents.ts'
import type { Settlement } from './settlement.ts'
import type { TaskEvent } from './taskState.ts'
import type { AgreementProposalBody, SignedOffer, TaskAssignment, TaskResult } from '../net/index.ts'
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
}

export interface JobRunDeps {
  readonly store: JobStore
  readonly events: EventHub<RequesterEvent>
  readonly settlement: Settlement
  readonly openLink: OpenLink
  /** Offers that meet the job's constraints, best first. */
  readonly candidates: (job: JobRecord) => SignedOffer[]
  /** Subscribes to new offers; returns the unsubscribe function. */
  readonly onOffer: (listener: () => void) => () => void
  /** Makes an output that came by CID local, fetching it from the provider. */
  readonly fetchOutput: (cid: string, fromPeer: string, signal: AbortSignal) => Promise<void>
  readonly requester: Address
  readonly chainId: number
  readonly config: SchedulerConfig
}

interface LinkState {
  readonly link: ProviderLink
  readonly inFlight: Set<number>
  /** Cores the provider offered: how many of the window run at once. */
  readonly cores: number
  /** Moving average of this provider's sandbox time per task, in ms (undefined until a result). */
  taskMs: number | undefined
}

/**
 * How much queued work to keep at a provider beyond what runs: enough to cover a round trip and
 * a result batch, no more, so that long tasks are not stuck behind each other at one provider
 * while another is idle.
 */
const QUEUE_TARGET_MS = 50

/** The window actually used: cores plus about QUEUE_TARGET_MS of queued tasks, within the agreed maximum. */
function windowOf (state: LinkState): number {
  const queued = state.taskMs === undefined ? 1 : Math.ceil((state.cores * QUEUE_TARGET_MS) / Math.max(state.taskMs, 0.05))
  return Math.min(state.link.maxInFlight, state.cores + Math.max(1, queued))
}

interface Outstanding {
  readonly attempt: number
  readonly peerId: string
  deadline: number
}

type Accepted = { result: TaskResult, idx: number, event: TaskEvent, outputs: Array<StoredOutput & { inline?: Uint8Array }> }

/**
 * Runs one job to its end: finds providers for it, streams tasks to each within its agreed window,
 * takes their results, and moves a task elsewhere when its provider fails, misses a deadline or
 * disappears. Everything it decides is written to the job store before it is acted on, so a
 * restarted node resumes the job where it stood.
 */
export class JobRun {
  readonly job: JobRecord
  private readonly deps: JobRunDeps
  private readonly definitions = new Map<number, TaskDefinition>()
  private readonly attempts = new Map<number, number>()
  private readonly triedBy = new Map<number, Set<string>>()
  private queue: number[] = []
  private queueHead = 0
  private readonly outstanding = new Map<number, Outstanding>()
  private readonly links = new Map<string, LinkState>()
  private readonly connecting = new Set<string>()
  private readonly backoffUntil = new Map<string, number>()
  private remaining = 0
  private fetches = 0
  private agreements = 0
  private pumpScheduled = false
  private finished = false
  private readonly stopController = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private unsubscribe: (() => void) | undefined
  private resolveDone!: () => void
  /** Settles when the job has ended (completed, failed or cancelled) or the run was stopped. */
  readonly done: Promise<void>

  constructor (job: JobRecord, deps: JobRunDeps) {
    this.job = job
    this.deps = deps
    this.done = new Promise(resolve => { this.resolveDone = resolve })
  }

  start (): void {
    for (const task of this.deps.store.tasks(this.job.id)) {
      this.definitions.set(task.idx, task.definition)
      this.attempts.set(task.idx, task.attempts)
      this.triedBy.set(task.idx, new Set(task.triedBy))
      if (task.state === 'queued') this.queue.push(task.idx)
      if (task.state === 'queued' || task.state === 'running') this.remaining++
    }
    this.unsubscribe = this.deps.onOffer(() => this.discover())
    this.timer = setInterval(() => {
      this.expireDeadlines()
      this.discover()
    }, 250)
    this.timer.unref()
    this.discover()
    this.checkFinished()
  }

  /** Stops scheduling without changing the job's state (node shutdown). */
  async stop (): Promise<void> {
    this.teardown()
    await Promise.all([...this.links.values()].map(async state => state.link.close()))
    this.resolveDone()
  }

  /** Cancels every task still queued or running and ends the job as cancelled. */
  async cancel (): Promise<void> {
    for (const state of this.links.values()) {
      if (state.inFlight.size > 0) state.link.cancel([...state.inFlight].map(String))
    }
    this.deps.store.cancelJob(this.job.id)
    await this.finish('cancelled')
  }

  providers (): Array<{ peerId: string, address: string, inFlight: number, maxInFlight: number }> {
    return [...this.links.values()].map(({ link, inFlight }) => ({ peerId: link.peerId, address: link.address, inFlight: inFlight.size, maxInFlight: link.maxInFlight }))
  }

  private discover (): void {
    if (this.finished || this.queueLength() === 0) return
    const now = Date.now()
    for (const offer of this.deps.candidates(this.job)) {
      if (this.links.size + this.connecting.size >= this.deps.config.maxProviders) return
      const peerId = offer.body.peerId
      if (this.links.has(peerId) || this.connecting.has(peerId) || (this.backoffUntil.get(peerId) ?? 0) > now) continue
      void this.connect(offer)
    }
  }

  private async connect (offer: SignedOffer): Promise<void> {
    const peerId = offer.body.peerId
    this.connecting.add(peerId)
    const proposal: AgreementProposalBody = {
      agreementId: `${this.job.id}.${++this.agreements}`,
      jobId: this.job.id,
      chainId: this.deps.chainId,
      requester: this.deps.requester,
      provider: offer.body.provider,
      specHash: this.job.specHash,
      runtime: this.job.spec.runtime,
      limits: this.job.spec.limits,
      maxInFlight: Math.min(this.deps.config.maxInFlightPerProvider, offer.body.cores + 64),
      pricePerTaskWei: offer.body.pricePerTaskWei,
      escrow: null,
      expiresAt: Date.now() + 60_000,
    }
    let state: LinkState | undefined
    const handlers: LinkHandlers = {
      onStarted: taskIds => this.onStarted(taskIds),
      onResults: results => { if (state !== undefined) this.onResults(state, results) },
      onClosed: reason => { if (state !== undefined) this.onLinkClosed(state, reason) },
    }
    try {
      const link = await this.deps.openLink(offer, proposal, handlers, AbortSignal.any([this.stopController.signal, AbortSignal.timeout(10_000)]))
      state = { link, inFlight: new Set(), cores: offer.body.cores, taskMs: undefined }
      if (this.finished) {
        await link.close()
        return
      }
      this.links.set(peerId, state)
      this.deps.events.emit({ type: 'provider.linked', jobId: this.job.id, provider: peerId, maxInFlight: link.maxInFlight })
      this.schedulePump()
    } catch (error) {
      this.backoffUntil.set(peerId, Date.now() + this.deps.config.reconnectBackoffMs)
      this.deps.events.emit({ type: 'provider.lost', jobId: this.job.id, provider: peerId, reason: (error as Error).message })
    } finally {
      this.connecting.delete(peerId)
    }
  }

  private queueLength (): number {
    return this.queue.length - this.queueHead
  }

  /** The next queued task for `peerId`, preferring tasks it has not tried while another link could take them. */
  private takeFor (peerId: string): number | undefined {
    const scan = Math.min(this.queueLength(), 64)
    for (let offset = 0; offset < scan; offset++) {
      const idx = this.queue[this.queueHead + offset]!
      const tried = this.triedBy.get(idx)
      const fresh = tried === undefined || !tried.has(peerId)
      const nobodyElse = !fresh && [...this.links.keys()].every(other => other === peerId || tried!.has(other))
      if (fresh || nobodyElse) {
        if (offset === 0) this.queueHead++
        else this.queue.splice(this.queueHead + offset, 1)
        if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.queueHead)
          this.queueHead = 0
        }
        return idx
      }
    }
    return undefined
  }

  private schedulePump (): void {
    if (this.pumpScheduled || this.finished) return
    this.pumpScheduled = true
    setImmediate(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  /** Fills every link's window, round robin, and records the dispatches before sending them. */
  private pump (): void {
    if (this.finished) return
    const batches = new Map<LinkState, TaskAssignment[]>()
    const dispatches = []
    const now = Date.now()
    const { spec } = this.job
    let progress = true
    while (progress && this.queueLength() > 0) {
      progress = false
      for (const state of this.links.values()) {
        if (state.inFlight.size >= windowOf(state)) continue
        const idx = this.takeFor(state.link.peerId)
        if (idx === undefined) continue
        const attempt = (this.attempts.get(idx) ?? 0) + 1
        this.attempts.set(idx, attempt)
        const tried = this.triedBy.get(idx) ?? new Set()
        tried.add(state.link.peerId)
        this.triedBy.set(idx, tried)
        state.inFlight.add(idx)
        // Until the provider says it started, the task may wait behind the rest of the window.
        const queued = Math.ceil(state.inFlight.size / state.cores)
        this.outstanding.set(idx, { attempt, peerId: state.link.peerId, deadline: now + spec.limits.timeoutMs * (queued + 1) + this.deps.config.deadlineGraceMs })
        dispatches.push({ idx, attempt, peerId: state.link.peerId, address: state.link.address })
        const batch = batches.get(state) ?? []
        batch.push({ taskId: String(idx), attempt, module: spec.module, limits: spec.limits, ...this.definitions.get(idx)! })
        batches.set(state, batch)
        progress = true
      }
    }
    if (dispatches.length === 0) return
    this.deps.store.dispatch(this.job.id, dispatches, now)
    for (const [state, tasks] of batches) state.link.assign(tasks)
    for (const d of dispatches) this.deps.events.emit({ type: 'task.dispatched', jobId: this.job.id, idx: d.idx, attempt: d.attempt, provider: d.peerId })
  }

  private onStarted (taskIds: readonly string[]): void {
    const now = Date.now()
    for (const taskId of taskIds) {
      const entry = this.outstanding.get(Number(taskId))
      if (entry !== undefined) entry.deadline = now + this.job.spec.limits.timeoutMs + this.deps.config.deadlineGraceMs
    }
  }

  private onResults (state: LinkState, results: readonly TaskResult[]): void {
    const ready: Accepted[] = []
    for (const result of results) {
      const idx = Number(result.taskId)
      const entry = this.outstanding.get(idx)
      // A result for an attempt we no longer wait for (late, duplicate, or from elsewhere) changes nothing.
      if (entry === undefined || entry.attempt !== result.attempt || entry.peerId !== state.link.peerId) continue
      this.outstanding.delete(idx)
      state.inFlight.delete(idx)
      state.taskMs = state.taskMs === undefined ? result.usage.wallMs : 0.8 * state.taskMs + 0.2 * result.usage.wallMs
      const decided = this.decide(idx, result)
      if (decided.event !== 'accept' || decided.outputs.every(output => output.inline !== undefined)) {
        ready.push(decided)
        continue
      }
      this.fetches++
      void this.fetchThenRecord(state, decided)
    }
    this.record(state, ready)
    this.schedulePump()
  }

  /** What a result means for its task, with its outputs checked against their CIDs. */
  private decide (idx: number, result: TaskResult): Accepted {
    const outputs: Accepted['outputs'] = []
    const refs = [
      { kind: 'stdout' as const, path: '', ref: result.stdout },
      { kind: 'stderr' as const, path: '', ref: result.stderr },
      ...result.files.map(file => ({ kind: 'file' as const, path: file.path, ref: file })),
    ]
    for (const { kind, path, ref } of refs) {
      let inline: Uint8Array | undefined
      if (ref.inline !== undefined) {
        inline = Buffer.from(ref.inline, 'base64')
        if (inline.byteLength !== ref.size || inlineCid(inline) !== ref.cid) {
          return { idx, event: this.retryOrFail(idx), outputs: [], result: { ...result, status: 'failed', reason: 'invalid-output', message: `the provider's ${kind} ${path} does not match its CID` } }
        }
      }
      outputs.push({ kind, path, cid: ref.cid, size: ref.size, ...(inline === undefined ? {} : { inline }) })
    }
    if (result.status === 'exit') return { idx, event: 'accept', outputs, result }
    const event = DETERMINISTIC_FAILURES.has(result.reason ?? '') ? 'fail' : this.retryOrFail(idx)
    return { idx, event, outputs: [], result }
  }

  private retryOrFail (idx: number): TaskEvent {
    return (this.attempts.get(idx) ?? 0) < this.job.spec.maxAttempts ? 'retry' : 'fail'
  }

  private async fetchThenRecord (state: LinkState, accepted: Accepted): Promise<void> {
    const size = accepted.outputs.reduce((sum, output) => sum + output.size, 0)
    // 30 s, plus 1 s per MB: even a slow peer moves a megabyte a second.
    const signal = AbortSignal.any([this.stopController.signal, AbortSignal.timeout(30_000 + Math.ceil(size / 1000))])
    try {
      for (const output of accepted.outputs) {
        if (output.inline === undefined) await this.deps.fetchOutput(output.cid, state.link.peerId, signal)
      }
      this.record(state, [accepted])
    } catch (error) {
      if (this.stopController.signal.aborted) return
      const message = `could not fetch the outputs: ${(error as Error).message}`
      this.record(state, [{ ...accepted, event: this.retryOrFail(accepted.idx), outputs: [], result: { ...accepted.result, status: 'failed', reason: 'fetch-failed', message } }])
    } finally {
      this.fetches--
      this.schedulePump()
      this.checkFinished()
    }
  }

  private record (state: LinkState, entries: Accepted[]): void {
    if (entries.length === 0 || this.finished) return
    const applied = new Set(this.deps.store.recordResults(this.job.id, entries))
    let accepted = 0
    for (const { idx, event, result } of entries) {
      if (!applied.has(idx)) continue
      const provider = state.link.peerId
      if (event === 'accept') {
        accepted++
        this.remaining--
        this.deps.events.emit({ type: 'task.done', jobId: this.job.id, idx, provider, exitCode: result.exitCode ?? 0, wallMs: result.usage.wallMs })
      } else if (event === 'retry') {
        this.queue.push(idx)
        this.deps.events.emit({ type: 'task.retry', jobId: this.job.id, idx, provider, reason: result.reason ?? 'internal' })
      } else {
        this.remaining--
        this.deps.events.emit({ type: 'task.failed', jobId: this.job.id, idx, provider, reason: result.reason ?? 'internal', message: result.message ?? '' })
      }
    }
    if (accepted > 0) this.deps.settlement.resultsAccepted(this.job, state.link.address, accepted)
    this.checkFinished()
  }

  /** An attempt ended without a result: retry it elsewhere, or fail the task when out of attempts. */
  private loseAttempt (idx: number, reason: string, message: string): void {
    const entry = this.outstanding.get(idx)
    if (entry === undefined) return
    this.outstanding.delete(idx)
    this.links.get(entry.peerId)?.inFlight.delete(idx)
    const event = this.retryOrFail(idx) as 'retry' | 'fail'
    if (!this.deps.store.loseAttempt(this.job.id, idx, entry.attempt, event, reason, message)) return
    if (event === 'retry') {
      this.queue.push(idx)
      this.deps.events.emit({ type: 'task.retry', jobId: this.job.id, idx, provider: entry.peerId, reason })
    } else {
      this.remaining--
      this.deps.events.emit({ type: 'task.failed', jobId: this.job.id, idx, provider: entry.peerId, reason, message })
    }
  }

  private expireDeadlines (): void {
    const now = Date.now()
    const late = new Map<string, number[]>()
    for (const [idx, entry] of this.outstanding) {
      if (entry.deadline > now) continue
      late.set(entry.peerId, [...(late.get(entry.peerId) ?? []), idx])
    }
    for (const [peerId, indices] of late) {
      this.links.get(peerId)?.link.cancel(indices.map(String))
      for (const idx of indices) this.loseAttempt(idx, 'deadline-missed', `no result from ${peerId} before the deadline`)
    }
    if (late.size > 0) {
      this.schedulePump()
      this.checkFinished()
    }
  }

  private onLinkClosed (state: LinkState, reason: string): void {
    if (this.links.get(state.link.peerId) !== state) return
    this.links.delete(state.link.peerId)
    this.backoffUntil.set(state.link.peerId, Date.now() + this.deps.config.reconnectBackoffMs)
    if (this.finished) return
    this.deps.events.emit({ type: 'provider.lost', jobId: this.job.id, provider: state.link.peerId, reason })
    for (const idx of [...state.inFlight]) this.loseAttempt(idx, 'provider-lost', `provider ${state.link.peerId} went away: ${reason}`)
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
    this.teardown()
    if (state !== 'cancelled') this.deps.store.finishJob(this.job.id, state)
    this.deps.events.emit({ type: 'job.finished', jobId: this.job.id, state })
    await Promise.allSettled([...this.links.values()].map(async ({ link }) => link.close()))
    this.links.clear()
    await this.deps.settlement.closeJob(this.job)
    this.resolveDone()
  }

  private teardown (): void {
    this.finished = true
    clearInterval(this.timer)
    this.unsubscribe?.()
    this.stopController.abort()
  }
}
