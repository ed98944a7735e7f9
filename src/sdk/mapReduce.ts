import { completedTasks } from './completedTasks.ts'
import { jobSpecOf } from './jobOptions.ts'
import { reduce, resultOf } from './reduce.ts'
import type { ConunClient } from './client.ts'
import type { FollowOptions } from './completedTasks.ts'
import type { JobOptions, TaskInput, TaskOutput } from './jobOptions.ts'
import type { ReduceOptions, ReduceStep } from './reduce.ts'

export interface MapReduceOptions<Item> extends FollowOptions {
  readonly map: JobOptions & {
    readonly task: (item: Item, idx: number) => TaskInput
    /** The file in /out that holds a map task's result (default: its stdout). */
    readonly output?: string
  }
  readonly reduce: ReduceStep
}

/**
 * Maps the items on the grid, then reduces the map outputs on the grid (see reduce), all by CID:
 * only the final output's CID comes back to this client.
 */
export async function mapReduce<Item> (client: ConunClient, items: Iterable<Item>, options: MapReduceOptions<Item>): Promise<TaskOutput> {
  const { task, output, ...job } = options.map
  const follow = { signal: options.signal, onProgress: options.onProgress, baseDir: options.baseDir }
  const spec = await jobSpecOf(job as JobOptions, [...items].map((item, idx) => task(item, idx)))
  const mapped: TaskOutput[] = new Array(spec.tasks!.length)
  for await (const outcome of completedTasks(client, spec, follow)) mapped[outcome.idx] = await resultOf(client, outcome, output)
  return reduce(client, mapped, { ...options.reduce, ...follow } as ReduceOptions)
}
