import { MAX_TASK_FRAME_BYTES, signBody, SIGNING_DOMAIN, WireError } from '../net/index.ts'
import { failedResult, publishResult, runTask } from './runTask.ts'
import { nextTurn } from '../util/index.ts'
import type { ProviderContext } from './providerContext.ts'
import type { AgreementProposalBody, FramedStream, TaskAssignment, TaskAttempt, TaskResult, toProvider } from '../net/index.ts'
import type { PeerId } from '@libp2p/interface'

/** Results finished close together go out in one signed batch (up to this many). */
const MAX_RESULTS_PER_BATCH = 256
/**
 * At most one batch per interval: under load, results gather into large batches, so the costly
 * signature (and the requester's check of it) is paid once for many tasks. When idle, a result
 * goes out at once.
 */
const RESULT_BATCH_INTERVAL_MS = 5
/**
 * A session whose stream broke keeps its tasks running this long for the requester to resume it
 * (a relay went away, a connection was replaced); past it the tasks are dropped.
 */
const RESUME_GRACE_MS = 30_000

type SessionStream = FramedStream<typeof toProvider>

const keyOf = (task: { taskId: string, attempt: number }) => `${task.taskId}#${task.attempt}`

/**
 * One requester's agreed session for one job, on this provider: the tasks it runs and the results
 * it owes. It outlives the stream it started on: results that finish while no stream is attached
 * wait, and a requester that resumes on a new stream gets them, and what the broken stream lost.
 */
export class AgreedSession {
  readonly agreement: AgreementProposalBody
  readonly requester: PeerId
  readonly window: number
  private readonly context: ProviderContext
  /** Tasks taken and not yet answered, by task id and attempt. */
  private readonly running = new Map<string, { taskId: string, controller: AbortController }>()
  /** Results waiting to be sent, in order. */
  private readonly pending: TaskResult[] = []
  /** Results sent recently, in case the stream they went on broke before they arrived. */
  private readonly sent = new Map<string, TaskResult>()
  private stream: SessionStream | undefined
  private flushScheduled = false
  private lastFlushAt = 0
  private started: string[] = []
  private graceTimer: ReturnType<typeof setTimeout> | undefined
  private ended = false
  private readonly onEnd: () => void

  constructor (init: { agreement: AgreementProposalBody, requester: PeerId, window: number, context: ProviderContext, onEnd: () => void }) {
    this.agreement = init.agreement
    this.requester = init.requester
    this.window = init.window
    this.context = init.context
    this.onEnd = init.onEnd
  }

  get isEnded (): boolean {
    return this.ended
  }

  /** Sends on `stream` from now on; a stream attached before is let go (it ends gracefully). */
  attach (stream: SessionStream): void {
    const previous = this.stream
    this.stream = stream
    clearTimeout(this.graceTimer)
    if (previous !== undefined && previous !== stream) void previous.close()
    this.scheduleFlush()
  }

  /** The stream broke: keep working for a while, in case the requester resumes. */
  detach (stream: SessionStream): void {
    if (this.stream !== stream || this.ended) return
    this.stream = undefined
    clearTimeout(this.graceTimer)
    this.graceTimer = setTimeout(() => this.end(), RESUME_GRACE_MS)
  }

  /**
   * Which of the requester's outstanding attempts this session cannot answer: neither running,
   * nor finished. Finished ones whose results may have been lost with the old stream are sent again.
   */
  resume (outstanding: readonly TaskAttempt[]): TaskAttempt[] {
    const pendingKeys = new Set(this.pending.map(keyOf))
    const lost: TaskAttempt[] = []
    for (const task of outstanding) {
      const key = keyOf(task)
      if (this.running.has(key) || pendingKeys.has(key)) continue
      const result = this.sent.get(key)
      if (result === undefined) lost.push(task)
      else this.pending.push(result)
    }
    this.scheduleFlush()
    return lost
  }

  assign (tasks: readonly TaskAssignment[]): void {
    for (const task of tasks) this.start(task)
  }

  cancel (taskIds: readonly string[]): void {
    const cancelled = new Set(taskIds)
    for (const entry of this.running.values()) if (cancelled.has(entry.taskId)) entry.controller.abort()
  }

  /** Answers a heartbeat at once, on the stream it came on. */
  pong (stream: SessionStream, nonce: number): void {
    stream.write({ type: 'session.pong', v: 1, nonce }).catch(() => this.detach(stream))
  }

  /** The session is over: its tasks are dropped and it can no longer be resumed. */
  end (): void {
    if (this.ended) return
    this.ended = true
    clearTimeout(this.graceTimer)
    for (const entry of this.running.values()) entry.controller.abort()
    // Said, so that the requester does not try to resume it.
    if (this.stream !== undefined) void this.stream.fail(new WireError('closed', 'the provider ended the session'))
    this.stream = undefined
    this.context.payments?.sessionEnded(this.agreement)
    this.onEnd()
  }

  private start (task: TaskAssignment): void {
    const key = keyOf(task)
    const terms = this.agreement
    const { context } = this
    // Assignments read after the session ended (its escrow gone) are not taken: nothing pays for them.
    if (this.ended || this.running.has(key) || this.sent.has(key)) return
    // The requester agreed to a window; what goes beyond it is refused, not queued without bound.
    if (this.running.size >= this.window) {
      this.deliver(failedResult(task, 'internal', `more than the agreed ${this.window} tasks in flight`))
      return
    }
    const controller = new AbortController()
    this.running.set(key, { taskId: task.taskId, controller })
    context.events.emit({ type: 'task.queued', jobId: terms.jobId, taskId: task.taskId })
    void (async () => {
      let result: TaskResult
      const drop = () => {
        this.running.delete(key)
        context.events.emit({ type: 'task.dropped', jobId: terms.jobId, taskId: task.taskId })
      }
      try {
        // A paid job's task waits until the requester has paid for enough of what it was given.
        await context.payments?.takeTask(terms, controller.signal)
      } catch {
        drop()
        return
      }
      try {
        await context.slots.acquire(controller.signal)
      } catch {
        context.payments?.taskDone(terms, false)
        drop()
        return
      }
      // The session may have ended (its escrow gone) while the slot was handed over: the task does not start.
      if (controller.signal.aborted) {
        context.slots.release()
        context.payments?.taskDone(terms, false)
        drop()
        return
      }
      let ran: Awaited<ReturnType<typeof runTask>>
      try {
        this.announceStarted(task.taskId)
        context.events.emit({ type: 'task.started', jobId: terms.jobId, taskId: task.taskId })
        ran = withinAgreement(task, terms)
          ? await runTask(task, { runtime: context.runtimes.get(terms.runtime)!, storage: context.storage, cache: context.cache, source: this.requester }, controller.signal)
          : failedResult(task, 'internal', 'the task asks for more than the agreement allows')
      } finally {
        // The next task starts while this one's outputs are stored.
        context.slots.release()
      }
      try {
        result = 'taskId' in ran ? ran : await publishResult(task, ran, context.storage)
      } finally {
        this.running.delete(key)
      }
      const delivered = !controller.signal.aborted
      context.payments?.taskDone(terms, delivered && result.status === 'exit')
      context.events.emit({ type: 'task.finished', jobId: terms.jobId, taskId: task.taskId, status: result.status, reason: result.reason, wallMs: result.usage.wallMs })
      if (delivered) this.deliver(result)
    })()
  }

  private deliver (result: TaskResult): void {
    this.pending.push(result)
    this.scheduleFlush()
  }

  private scheduleFlush (): void {
    if (this.flushScheduled || this.pending.length === 0) return
    this.flushScheduled = true
    const wait = this.lastFlushAt + RESULT_BATCH_INTERVAL_MS - performance.now()
    if (wait <= 0) nextTurn(() => this.flush())
    else setTimeout(() => this.flush(), wait)
  }

  private flush (): void {
    this.flushScheduled = false
    this.lastFlushAt = performance.now()
    const stream = this.stream
    while (this.pending.length > 0 && stream !== undefined && !this.ended) {
      const results = this.takeBatch()
      for (const result of results) this.remember(result)
      const body = { agreementId: this.agreement.agreementId, jobId: this.agreement.jobId, chainId: this.context.chainId, provider: this.context.key.address, results }
      stream.write({ type: 'task.results', v: 1, body, signature: signBody(this.context.key.secret, SIGNING_DOMAIN.results, body) })
        .catch(() => this.detach(stream))
    }
  }

  /** Keeps a sent result for a resume, up to two windows of them (the oldest go first). */
  private remember (result: TaskResult): void {
    const key = keyOf(result)
    this.sent.delete(key)
    this.sent.set(key, result)
    while (this.sent.size > 2 * this.window) this.sent.delete(this.sent.keys().next().value!)
  }

  /** As many pending results as fit one frame, by count and by the size of their inline outputs. */
  private takeBatch (): TaskResult[] {
    let bytes = 0
    let count = 0
    while (count < this.pending.length && count < MAX_RESULTS_PER_BATCH) {
      const result = this.pending[count]!
      const size = 1024 + [result.stdout, result.stderr, ...result.files].reduce((sum, ref) => sum + (ref.inline?.length ?? 0), 0)
      if (count > 0 && bytes + size > MAX_TASK_FRAME_BYTES / 2) break
      bytes += size
      count++
    }
    return this.pending.splice(0, count)
  }

  /** Tasks that started in one turn of the event loop are announced in one message. */
  private announceStarted (taskId: string): void {
    if (this.started.length === 0) {
      nextTurn(() => {
        const taskIds = this.started
        this.started = []
        const stream = this.stream
        if (stream !== undefined && !this.ended) stream.write({ type: 'task.started', v: 1, taskIds }).catch(() => this.detach(stream))
      })
    }
    this.started.push(taskId)
  }
}

function withinAgreement (task: TaskAssignment, terms: AgreementProposalBody): boolean {
  return task.limits.memoryBytes <= terms.limits.memoryBytes &&
    task.limits.timeoutMs <= terms.limits.timeoutMs &&
    task.limits.outputBytes <= terms.limits.outputBytes
}
