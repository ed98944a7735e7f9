import { NoProvidersError, TaskFailedError } from './taskErrors.ts'
import type { ConunClient } from './client.ts'
import type { EndedTask, JobSpecInput } from '../requester/index.ts'

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

/** Ended tasks read per request. */
const PAGE_SIZE = 1000
const READ_INTERVAL_MS = 50

/** A task's outcome, with the job it was part of. */
export type FinishedTask = EndedTask & { readonly jobId: string }

/**
 * Submits `spec` and yields its tasks' outcomes as they finish, in the order they ended on the
 * node. A task that failed or was cancelled throws TaskFailedError (NoProvidersError when no
 * provider took it) after the rest of the job is cancelled; so does leaving the loop early, since
 * no one will read the remaining results.
 */
export async function * completedTasks (client: ConunClient, spec: JobSpecInput, options: FollowOptions = {}): AsyncGenerator<FinishedTask> {
  options.signal?.throwIfAborted()
  // Events only wake the loop; the ended tasks are read page by page in the order they ended (each
  // once, however large the job), and also every few seconds in case the event stream drops.
  let jobId: string | undefined
  let woken = false
  let resolveWait: (() => void) | undefined
  const wake = () => {
    woken = true
    resolveWait?.()
  }
  const stopEvents = await client.events(event => {
    if (event.source !== 'requester' || (jobId !== undefined && event.jobId !== jobId)) return
    if (event.type === 'task.done' || event.type === 'task.failed' || event.type === 'job.finished') wake()
  })
  const onAbort = () => wake()
  options.signal?.addEventListener('abort', onAbort)
  let running = true
  try {
    const submitted = await client.submitJob(spec, options.baseDir)
    jobId = submitted.job.id
    const total = submitted.job.taskCount
    let ended = 0
    let failed = 0
    let after = 0
    let readAt = Number.NEGATIVE_INFINITY
    options.onProgress?.({ jobId, total, done: 0, failed: 0 })
    while (ended < total) {
      if (!woken) {
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, 2000)
          resolveWait = () => { clearTimeout(timer); resolve() }
        })
      }
      // At most one read per READ_INTERVAL_MS, so that tasks finishing together arrive together;
      // a task ending after a quiet spell is read at once (a round's last result waits for nothing).
      const wait = readAt + READ_INTERVAL_MS - performance.now()
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
      readAt = performance.now()
      woken = false
      options.signal?.throwIfAborted()
      for (let full = true; full;) {
        const page = await client.endedTasks(jobId, after, PAGE_SIZE)
        running = page.job.state === 'running'
        full = page.tasks.length === PAGE_SIZE
        after = page.next
        for (const task of page.tasks) {
          options.signal?.throwIfAborted()
          ended++
          if (task.state !== 'done') {
            failed++
            options.onProgress?.({ jobId, total, done: ended - failed, failed })
            const reason = task.state === 'cancelled' ? 'cancelled' : task.reason ?? 'failed'
            const ErrorClass = reason === 'no-provider' ? NoProvidersError : TaskFailedError
            throw new ErrorClass(jobId, task, reason, task.message ?? '')
          }
          options.onProgress?.({ jobId, total, done: ended - failed, failed })
          yield { ...task, jobId }
        }
      }
    }
    running = false
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    stopEvents()
    if (jobId !== undefined && running) await client.cancel(jobId).catch(() => {})
  }
}
