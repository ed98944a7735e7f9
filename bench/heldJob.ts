/**
 * A job of N tasks submitted to a requester with no providers, so that it holds them all queued:
 * what holding a job costs, apart from running it (issue 16's 1,000,000-task goals for submitting,
 * memory, SQLite and job status). The job is cancelled at the end.
 */
import { join } from 'node:path'
import { withGrid } from './harness.ts'
import { fileBytes, rssMb } from './processStats.ts'

export interface HeldJobResult {
  readonly tasks: number
  readonly submitMs: number
  /** The requester's RSS before submitting, and its growth with the job held. */
  readonly requesterRssBeforeMb: number
  readonly requesterRssGrowthMb: number
  readonly dbBytesPerTask: number
  /** Of STATUS_SAMPLES job-status answers while the job is held. */
  readonly slowestStatusMs: number
  readonly cancelMs: number
}

const STATUS_SAMPLES = 20

export async function measureHeldJob (tasks: number, module: string): Promise<HeldJobResult> {
  return withGrid(0, 1, async (client, grid) => {
    const requesterPid = grid.requester.process.pid!
    const db = [join(grid.requester.dataDir, 'conun.db'), join(grid.requester.dataDir, 'conun.db-wal')]
    const dbBefore = fileBytes(...db)
    const requesterRssBeforeMb = rssMb(requesterPid)
    const submitted = performance.now()
    const { job } = await client.submitJob({ runtime: 'wasi', module, range: { count: tasks, args: ['--from', '0', '--to', '10'] } })
    const submitMs = performance.now() - submitted
    let slowestStatusMs = 0
    for (let i = 0; i < STATUS_SAMPLES; i++) {
      const asked = performance.now()
      await client.job(job.id)
      slowestStatusMs = Math.max(slowestStatusMs, performance.now() - asked)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    const requesterRssGrowthMb = rssMb(requesterPid) - requesterRssBeforeMb
    const dbBytesPerTask = (fileBytes(...db) - dbBefore) / tasks
    const cancelled = performance.now()
    await client.cancel(job.id)
    return { tasks, submitMs, requesterRssBeforeMb, requesterRssGrowthMb, dbBytesPerTask, slowestStatusMs, cancelMs: performance.now() - cancelled }
  })
}
