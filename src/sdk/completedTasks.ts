import { NoProvidersError, TaskFailedError } from './taskErrors.ts'
import type { ConunClient } from './client.ts'
import type { JobSpecInput, TaskOutcome } from '../requester/index.ts'

export interface TaskProgress {
  readonly jobId: string
  readonly total: number
  readonly done: number
  readonly failed: number
}

export interface FollowOptions {
  /** Aborting it cancels the job; the iteration then throws the signal's reason. */
  readonly signal?: AbortSignal
  readonly onProgress?: (progress: TaskProgress) => void
  /** Local paths in the spec are resolved against this folder (default: the working directory). */
  readonly baseDir?: string
}

/** A task's outcome, with the job it was part of. */
export type FinishedTask = TaskOutcome & { readonly jobId: string }

const TERMINAL = new Set(['done', 'failed', 'cancelled'])

/**
 * Submits `spec` and yields its tasks' outcomes as they finish, in the order the node reported
 * them. A task that failed or was cancelled throws TaskFailedError (NoProvidersError when no
 * provider took it) after the rest of the job is cancelled; so does leaving the loop early, since
 * no one will read the remaining results.
 */
export async function * completedTasks (client: ConunClient, spec: JobSpecInput, options: FollowOptions = {}): AsyncGenerator<FinishedTask> {
  options.signal?.throwIfAborted()
  // Events only wake the loop and order the tasks; the results endpoint is the truth, and is also
  // read every few seconds in case the event stream drops.
  let jobId: string | undefined
  let woken = false
  let resolveWait: (() => void) | undefined
  const wake = () => {
    woken = true
    resolveWait?.()
  }
  const finishOrder = new Map<string, number>()
  let finishes = 0
  const stopEvents = await client.events(event => {
    if (event.source !== 'requester' || (jobId !== undefined && event.jobId !== jobId)) return
    if (event.type === 'task.done' || event.type === 'task.failed') finishOrder.set(`${event.jobId}/${event.idx}`, finishes++)
    if (event.type === 'task.done' || event.type === 'task.failed' || event.type === 'job.finished') wake()
  })
  const onAbort = () => wake()
  options.signal?.addEventListener('abort', onAbort)
  let running = true
  try {
    const submitted = await client.submitJob(spec, options.baseDir)
    jobId = submitted.job.id
    const total = submitted.job.taskCount
    const yielded = new Set<number>()
    let failed = 0
    let finishedUnheard = new Set<number>()
    options.onProgress?.({ jobId, total, done: 0, failed: 0 })
    while (yielded.size < total) {
      if (!woken) {
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, 2000)
          resolveWait = () => { clearTimeout(timer); resolve() }
        })
      }
      // Let the tasks finishing together arrive together: one read of the results for a batch.
      await new Promise(resolve => setTimeout(resolve, 50))
      woken = false
      options.signal?.throwIfAborted()
      const results = await client.results(jobId)
      running = results.job.state === 'running'
      const order = (task: TaskOutcome) => finishOrder.get(`${jobId}/${task.idx}`) ?? Number.MAX_SAFE_INTEGER
      // A task whose event has not come yet waits for it (the store is written just before the
      // event is sent), unless it was already finished at the last read: then the event was lost.
      const fresh = results.tasks.filter(task => TERMINAL.has(task.state) && !yielded.has(task.idx))
      const ready = fresh.filter(task => order(task) !== Number.MAX_SAFE_INTEGER || finishedUnheard.has(task.idx)).sort((a, b) => order(a) - order(b))
      finishedUnheard = new Set(fresh.filter(task => order(task) === Number.MAX_SAFE_INTEGER).map(task => task.idx))
      for (const task of ready) {
        options.signal?.throwIfAborted()
        yielded.add(task.idx)
        finishOrder.delete(`${jobId}/${task.idx}`)
        if (task.state !== 'done') {
          failed++
          options.onProgress?.({ jobId, total, done: yielded.size - failed, failed })
          const reason = task.state === 'cancelled' ? 'cancelled' : task.reason ?? 'failed'
          const ErrorClass = reason === 'no-provider' ? NoProvidersError : TaskFailedError
          throw new ErrorClass(jobId, task, reason, task.message ?? '')
        }
        options.onProgress?.({ jobId, total, done: yielded.size - failed, failed })
        yield { ...task, jobId }
      }
    }
    running = false
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    stopEvents()
    if (jobId !== undefined && running) await client.cancel(jobId).catch(() => {})
  }
}
