/** What the examples do with a grid's requester: wait for providers, run a job, read task outputs. */
import { followJob } from '../src/sdk/index.ts'
import type { ConunClient } from '../src/sdk/index.ts'
import type { JobSpecInput, TaskOutcome } from '../src/requester/index.ts'

/** A task's stdout or stderr as text ('' when it wrote none). */
export async function outputText (client: ConunClient, task: TaskOutcome, kind: 'stdout' | 'stderr'): Promise<string> {
  const output = task.outputs.find(o => o.kind === kind)
  return output === undefined ? '' : (await client.contentBytes(output.cid)).toString('utf8')
}

/** Waits until `count` providers have offered to the requester (60 s at most). */
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
