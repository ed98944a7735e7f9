import type { ConunClient } from './client.ts'
import type { JobStatus } from '../requester/index.ts'

export interface JobProgress {
  readonly done: number
  readonly failed: number
  readonly total: number
  /** Tasks done per provider (PeerId). */
  readonly perProvider: ReadonlyMap<string, number>
  readonly startedAt: number
}

/**
 * Submits a job with `submit` and follows it until it ends, calling `onProgress` as tasks finish.
 * Events are subscribed to before submitting, so none of the job's is missed; the job's status is
 * also checked every few seconds in case the event stream drops.
 */
export async function followJob (client: ConunClient, submit: () => Promise<JobStatus>, onProgress?: (progress: JobProgress) => void): Promise<{ status: JobStatus, progress: JobProgress }> {
  const perProvider = new Map<string, number>()
  const progress = { done: 0, failed: 0, total: 0, perProvider, startedAt: Date.now() }
  let jobId: string | undefined
  let ended: () => void = () => {}
  const finished = new Promise<void>(resolve => { ended = resolve })
  const stopEvents = await client.events(event => {
    if (event.source !== 'requester' || event.jobId !== jobId) return
    if (event.type === 'task.done') {
      progress.done++
      perProvider.set(event.provider, (perProvider.get(event.provider) ?? 0) + 1)
    } else if (event.type === 'task.failed') progress.failed++
    else if (event.type === 'job.finished') ended()
    onProgress?.(progress)
  })
  try {
    let status = await submit()
    jobId = status.job.id
    progress.total = status.job.taskCount
    onProgress?.(progress)
    while (status.job.state === 'running') {
      await Promise.race([finished, new Promise(resolve => setTimeout(resolve, 2000))])
      status = await client.job(jobId)
    }
    return { status, progress }
  } finally {
    stopEvents()
  }
}
