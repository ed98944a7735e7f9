import { completedTasks } from './completedTasks.ts'
import { filesOf, jobSpecOf, outputBytes } from './jobOptions.ts'
import type { ConunClient } from './client.ts'
import type { FollowOptions } from './completedTasks.ts'
import type { JobOptions, TaskInput, TaskOutput } from './jobOptions.ts'

export type MapOptions<Item> = JobOptions & FollowOptions & {
  /** The task that processes one item (its args, stdin, env and own inputs). */
  readonly task: (item: Item, idx: number) => TaskInput
}

/** One item's result: what its task's accepted run returned. */
export interface MapResult<Item> {
  readonly item: Item
  readonly idx: number
  readonly exitCode: number
  readonly stdout: Uint8Array
  /** Files the task wrote to /out, by path inside /out. */
  readonly files: Readonly<Record<string, TaskOutput>>
  /** The PeerId of the provider whose result was accepted. */
  readonly provider: string
  readonly attempts: number
}

/**
 * Runs one task per item as one job and yields the results in the order they complete.
 * A task that fails throws TaskFailedError (NoProvidersError when no provider took the job) and
 * cancels the rest; aborting `signal`, or leaving the loop early, cancels the job too.
 */
export async function * map<Item> (client: ConunClient, items: Iterable<Item>, options: MapOptions<Item>): AsyncGenerator<MapResult<Item>> {
  const { task, signal, onProgress, baseDir, ...job } = options
  const list = [...items]
  const spec = await jobSpecOf(job as JobOptions, list.map((item, idx) => task(item, idx)))
  for await (const outcome of completedTasks(client, spec, { signal, onProgress, baseDir })) {
    const stdout = outcome.outputs.find(output => output.kind === 'stdout')
    yield {
      item: list[outcome.idx]!,
      idx: outcome.idx,
      exitCode: outcome.exitCode ?? 0,
      stdout: stdout === undefined ? new Uint8Array() : await outputBytes(client, stdout),
      files: filesOf(client, outcome),
      provider: outcome.provider ?? '',
      attempts: outcome.attempts,
    }
  }
}
