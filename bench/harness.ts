/** What the benchmarks share: a local grid for the length of a measurement, and timing a job on it. */
import { startLocalGrid } from '../src/devnet/index.ts'
import { waitForOffers } from '../examples/grid.ts'
import type { LocalGrid } from '../src/devnet/index.ts'
import type { ConunClient } from '../src/sdk/index.ts'

/** Polls the job's status until it ends; answers the slowest status answer seen, in ms. */
export async function waitForJob (client: ConunClient, jobId: string): Promise<number> {
  let slowestMs = 0
  for (;;) {
    const asked = performance.now()
    const { state } = (await client.job(jobId)).job
    slowestMs = Math.max(slowestMs, performance.now() - asked)
    if (state !== 'running') return slowestMs
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/**
 * Submits a job and measures wall time from submission to the end, and to the first result; also
 * how long the submission took, and the slowest job-status answer while the job ran.
 */
export async function timeJob (client: ConunClient, spec: object): Promise<{ wallMs: number, firstResultMs: number, submitMs: number, slowestStatusMs: number }> {
  let jobId: string | undefined
  let firstResultAt = 0
  const early: Array<{ jobId: string, at: number }> = []
  const stop = await client.events(event => {
    if (event.source !== 'requester' || event.type !== 'task.done') return
    if (jobId === undefined) early.push({ jobId: event.jobId, at: performance.now() })
    else if (event.jobId === jobId && firstResultAt === 0) firstResultAt = performance.now()
  })
  const start = performance.now()
  jobId = (await client.submitJob(spec)).job.id
  const submitMs = performance.now() - start
  firstResultAt ||= early.find(e => e.jobId === jobId)?.at ?? 0
  const slowestStatusMs = await waitForJob(client, jobId)
  const end = performance.now()
  stop()
  return { wallMs: end - start, firstResultMs: (firstResultAt || end) - start, submitMs, slowestStatusMs }
}

/** Runs `work` on a fresh grid of free providers once all of them offer, and stops the grid afterwards. */
export async function withGrid<T> (providers: number, cores: number, work: (client: ConunClient, grid: LocalGrid) => Promise<T>): Promise<T> {
  const grid = await startLocalGrid({ providers, coresPerProvider: cores, providerFlags: ['--price', '0'] })
  try {
    const client = grid.requester.client
    await waitForOffers(client, providers)
    return await work(client, grid)
  } finally {
    await grid.stop()
  }
}
