/** What the examples do with a grid's requester: wait for providers, run a job, read its outputs. */
import { basename } from 'node:path'
import { followJob } from '../src/sdk/index.ts'
import type { ConunClient } from '../src/sdk/index.ts'
import type { JobSpecInput, TaskOutcome } from '../src/requester/index.ts'

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
    const failed = results.tasks.filter(task => task.state !== 'done').map(task => `task ${task.idx}: ${task.reason} ${task.message}`)
    throw new Error(`${spec.name} ended ${results.job.state}: ${failed.join('; ')}`)
  }
  return { tasks: results.tasks, seconds }
}
