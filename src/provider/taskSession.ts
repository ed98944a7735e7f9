import { assertSignedBy, FramedStream, MAX_TASK_FRAME_BYTES, signBody, SIGNING_DOMAIN, toProvider, WireError } from '../net/index.ts'
import { failedResult, runTask } from './runTask.ts'
import type { ProviderContext } from './providerContext.ts'
import type { AgreementProposalBody, TaskAssignment, TaskResult, ToProvider } from '../net/index.ts'
import type { Connection, Stream } from '@libp2p/interface'

/** Results finished close together go out in one signed batch (up to this many). */
const MAX_RESULTS_PER_BATCH = 256
/**
 * At most one batch per interval: under load, results gather into large batches, so the costly
 * signature (and the requester's check of it) is paid once for many tasks. When idle, a result
 * goes out at once.
 */
const RESULT_BATCH_INTERVAL_MS = 5

/** The next turn of the event loop: setImmediate on Node; browsers (the browser provider) have only timers. */
const nextTurn: (callback: () => void) => void = globalThis.setImmediate ?? (callback => setTimeout(callback, 0))

/**
 * One requester's session for one job: the agreement handshake, then a stream of task assignments
 * in and signed result batches out. A bad message ends this session only; the agent keeps serving.
 */
export async function serveTaskSession (stream: Stream, connection: Connection, context: ProviderContext): Promise<void> {
  const framed = new FramedStream(stream, toProvider, MAX_TASK_FRAME_BYTES)
  const requester = connection.remotePeer
  /** Tasks taken and not yet answered, by task id and attempt. */
  const running = new Map<string, { taskId: string, controller: AbortController }>()
  let agreement: AgreementProposalBody | undefined
  let window = 0
  let closed = false

  const pending: TaskResult[] = []
  let flushScheduled = false
  let lastFlushAt = 0
  const flush = () => {
    flushScheduled = false
    lastFlushAt = performance.now()
    while (pending.length > 0 && agreement !== undefined && !closed) {
      const results = takeBatch()
      const body = { agreementId: agreement.agreementId, jobId: agreement.jobId, chainId: context.chainId, provider: context.key.address, results }
      framed.write({ type: 'task.results', v: 1, body, signature: signBody(context.key.secret, SIGNING_DOMAIN.results, body) })
        .catch(() => { closed = true })
    }
  }
  /** As many pending results as fit one frame, by count and by the size of their inline outputs. */
  const takeBatch = () => {
    let bytes = 0
    let count = 0
    while (count < pending.length && count < MAX_RESULTS_PER_BATCH) {
      const result = pending[count]!
      const size = 1024 + [result.stdout, result.stderr, ...result.files].reduce((sum, ref) => sum + (ref.inline?.length ?? 0), 0)
      if (count > 0 && bytes + size > MAX_TASK_FRAME_BYTES / 2) break
      bytes += size
      count++
    }
    return pending.splice(0, count)
  }
  const deliver = (result: TaskResult) => {
    pending.push(result)
    if (!flushScheduled) {
      flushScheduled = true
      const wait = lastFlushAt + RESULT_BATCH_INTERVAL_MS - performance.now()
      if (wait <= 0) nextTurn(flush)
      else setTimeout(flush, wait)
    }
  }

  // Tasks that started in one turn of the event loop are announced in one message.
  let started: string[] = []
  const announceStarted = (taskId: string) => {
    if (started.length === 0) {
      nextTurn(() => {
        const taskIds = started
        started = []
        if (!closed) framed.write({ type: 'task.started', v: 1, taskIds }).catch(() => { closed = true })
      })
    }
    started.push(taskId)
  }

  const start = (task: TaskAssignment, terms: AgreementProposalBody) => {
    const key = `${task.taskId}#${task.attempt}`
    if (running.has(key)) return
    // The requester agreed to a window; what goes beyond it is refused, not queued without bound.
    if (running.size >= window) {
      deliver(failedResult(task, 'internal', `more than the agreed ${window} tasks in flight`))
      return
    }
    const controller = new AbortController()
    running.set(key, { taskId: task.taskId, controller })
    context.events.emit({ type: 'task.queued', jobId: terms.jobId, taskId: task.taskId })
    void (async () => {
      let result: TaskResult
      try {
        // A paid job's task waits until the requester has paid for enough of what it was given.
        await context.payments?.takeTask(terms, controller.signal)
      } catch {
        running.delete(key)
        context.events.emit({ type: 'task.dropped', jobId: terms.jobId, taskId: task.taskId })
        return
      }
      try {
        await context.slots.acquire(controller.signal)
      } catch {
        running.delete(key)
        context.payments?.taskDone(terms, false)
        context.events.emit({ type: 'task.dropped', jobId: terms.jobId, taskId: task.taskId })
        return
      }
      try {
        announceStarted(task.taskId)
        context.events.emit({ type: 'task.started', jobId: terms.jobId, taskId: task.taskId })
        result = withinAgreement(task, terms)
          ? await runTask(task, { runtime: context.runtimes.get(terms.runtime)!, storage: context.storage, cache: context.cache, source: requester }, controller.signal)
          : failedResult(task, 'internal', 'the task asks for more than the agreement allows')
      } finally {
        context.slots.release()
        running.delete(key)
      }
      const delivered = !controller.signal.aborted
      context.payments?.taskDone(terms, delivered && result.status === 'exit')
      context.events.emit({ type: 'task.finished', jobId: terms.jobId, taskId: task.taskId, status: result.status, reason: result.reason, wallMs: result.usage.wallMs })
      if (delivered) deliver(result)
    })()
  }

  try {
    while (true) {
      let message: ToProvider
      try {
        message = await framed.read()
      } catch (error) {
        if (error instanceof WireError && error.code !== 'closed') {
          context.events.emit({ type: 'protocol.rejected', peer: requester.toString(), code: error.code, message: error.message })
          await framed.fail(error)
        }
        return
      }
      if (agreement === undefined) {
        if (message.type !== 'agreement.propose') {
          const error = new WireError('unexpected', `a session starts with agreement.propose, not ${message.type}`)
          context.events.emit({ type: 'protocol.rejected', peer: requester.toString(), code: error.code, message: error.message })
          await framed.fail(error)
          return
        }
        try {
          assertSignedBy(requester, SIGNING_DOMAIN.agreementProposal, message.body, message.signature)
          if (message.body.chainId !== context.chainId) throw new WireError('unexpected', `agreement is for chain ${message.body.chainId}, this provider is on ${context.chainId}`)
          if (message.body.provider.toLowerCase() !== context.key.address.toLowerCase()) throw new WireError('unexpected', `agreement names provider ${message.body.provider}, this is ${context.key.address}`)
          if (message.body.expiresAt <= Date.now()) throw new WireError('unexpected', 'agreement proposal has expired')
        } catch (error) {
          context.events.emit({ type: 'protocol.rejected', peer: requester.toString(), code: (error as WireError).code, message: (error as Error).message })
          await framed.fail(error as WireError)
          return
        }
        const decision = await context.admit(message.body, requester)
        if (!decision.accept) {
          await framed.write({ type: 'agreement.reject', v: 1, agreementId: message.body.agreementId, reason: decision.reason })
          await framed.close()
          return
        }
        agreement = message.body
        window = decision.maxInFlight
        const body = { agreementId: agreement.agreementId, jobId: agreement.jobId, chainId: context.chainId, provider: context.key.address, maxInFlight: decision.maxInFlight }
        await framed.write({ type: 'agreement.accept', v: 1, body, signature: signBody(context.key.secret, SIGNING_DOMAIN.agreementAcceptance, body) })
        context.events.emit({ type: 'agreement.accepted', jobId: agreement.jobId, requester: requester.toString() })
        continue
      }
      if (message.type === 'task.assign') {
        for (const task of message.tasks) start(task, agreement)
      } else if (message.type === 'task.receipt') {
        if (context.payments === undefined) context.events.emit({ type: 'receipt.rejected', jobId: agreement.jobId, reason: 'this provider has no chain to claim on' })
        else context.payments.accept(message, agreement, requester)
      } else if (message.type === 'task.cancel') {
        const cancelled = new Set(message.taskIds)
        for (const entry of running.values()) if (cancelled.has(entry.taskId)) entry.controller.abort()
      } else {
        await framed.fail(new WireError('unexpected', 'agreement.propose may only open a session'))
        return
      }
    }
  } finally {
    closed = true
    for (const entry of running.values()) entry.controller.abort()
    if (agreement !== undefined) context.payments?.sessionEnded(agreement)
  }
}

function withinAgreement (task: TaskAssignment, terms: AgreementProposalBody): boolean {
  return task.limits.memoryBytes <= terms.limits.memoryBytes &&
    task.limits.timeoutMs <= terms.limits.timeoutMs &&
    task.limits.outputBytes <= terms.limits.outputBytes
}
