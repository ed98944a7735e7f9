/**
 * What the example drivers share when they run a job on a local grid: waiting for the providers'
 * offers, submitting a job and waiting for its results, reading a task's outputs, and the one JSON
 * line each driver prints last (which `npm run examples` collects).
 */
import { basename } from 'node:path'
import { followJob } from '../src/sdk/index.ts'
import type { ConunClient } from '../src/sdk/index.ts'
import type { JobSpecInput, TaskOutcome } from '../src/requester/index.ts'

/** The categories of the seed's applications. */
export type ExampleCategory = 'science' | 'cgi' | 'life science' | 'big data' | 'deep learning'

/** One example's line in `{ "examples": [...] }`; tasks, providers and gridS are optional extras. */
export interface ExampleSummary {
  readonly name: string
  readonly category: ExampleCategory
  readonly verified: boolean
  /** The driver's own wall time, start to finish. */
  readonly wallS: number
  /** The single-process baseline's time. */
  readonly baselineS: number
  readonly tasks?: number
  readonly providers?: number
  /** The jobs on the grid alone, submit to last result (wallS also holds the baseline, checks and the grid's start). */
  readonly gridS?: number
}

/** The line a driver prints last. */
export function summaryLine (summary: ExampleSummary): string {
  return JSON.stringify({ examples: [summary] })
}

export async function waitForOffers (client: ConunClient, count: number): Promise<void> {
  const deadline = Date.now() + 60_000
  while ((await client.peers()).filter(peer => peer.offer !== null).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} providers offered within 60 s`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** Submits a job and waits for it; a job that did not complete throws its failed tasks' reasons. */
export async function runJob (client: ConunClient, spec: JobSpecInput): Promise<{ tasks: TaskOutcome[], seconds: number }> {
  const { status, progress } = await followJob(client, () => client.submitJob(spec))
  const seconds = (Date.now() - progress.startedAt) / 1000
  const results = await client.results(status.job.id)
  if (results.job.state !== 'completed') {
    const failed = results.tasks.filter(task => task.state !== 'done').slice(0, 10).map(task => `task ${task.idx}: ${task.reason} ${task.message}`)
    throw new Error(`${spec.name} ended ${results.job.state}: ${failed.join('; ')}`)
  }
  return { tasks: results.tasks, seconds }
}

export async function outputText (client: ConunClient, task: TaskOutcome, kind: 'stdout' | 'stderr'): Promise<string> {
  const output = task.outputs.find(o => o.kind === kind)
  return output === undefined ? '' : (await client.contentBytes(output.cid)).toString('utf8')
}

/** The CID and size of a file the task wrote to /out; a task that exited with an error throws its stderr. */
export async function fileOutput (client: ConunClient, task: TaskOutcome, name: string): Promise<{ cid: string, size: number }> {
  const output = task.outputs.find(o => o.kind === 'file' && basename(o.path) === name)
  if (task.exitCode !== 0 || output === undefined) {
    throw new Error(`task ${task.idx} (exit ${task.exitCode}) wrote no /out/${name}: ${(await outputText(client, task, 'stderr')).trim()}`)
  }
  return { cid: output.cid, size: output.size }
}

/** The bytes of a file the task wrote to /out; a task that exited with an error throws its stderr. */
export async function fileBytes (client: ConunClient, task: TaskOutcome, name: string): Promise<Uint8Array> {
  return new Uint8Array(await client.contentBytes((await fileOutput(client, task, name)).cid))
}

/** Tasks done per provider. */
export function tasksPerProvider (tasks: readonly TaskOutcome[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const task of tasks) if (task.provider !== null) counts.set(task.provider, (counts.get(task.provider) ?? 0) + 1)
  return counts
}
