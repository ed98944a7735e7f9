import { completedTasks } from './completedTasks.ts'
import { jobSpecOf, outputOf } from './jobOptions.ts'
import { TaskFailedError } from './taskErrors.ts'
import type { ConunClient } from './client.ts'
import type { FinishedTask, FollowOptions } from './completedTasks.ts'
import type { JobOptions, TaskInput, TaskOutput } from './jobOptions.ts'

/** A reduce step: the job its tasks run as, and how they take their inputs and give their result. */
export type ReduceStep = JobOptions & {
  /** Outputs one reduce task combines (default 8); more inputs make a tree of reduces. */
  readonly fanIn?: number
  /** The reduce task given its inputs' paths (/in/0, /in/1, …, in input order); default: them as args. */
  readonly task?: (paths: string[]) => TaskInput
  /** The file in /out that holds a reduce task's result (default: its stdout). */
  readonly output?: string
}

export type ReduceOptions = ReduceStep & FollowOptions

/**
 * Reduces outputs on the grid: tasks of `fanIn` inputs each, given by CID (no bytes go through
 * this client), then tasks over their outputs, level by level, until one output is left.
 * Inputs keep their order, so a reduce need not be commutative, only associative.
 */
export async function reduce (client: ConunClient, inputs: ReadonlyArray<{ readonly cid: string }>, options: ReduceOptions): Promise<TaskOutput> {
  const { fanIn = 8, task = (paths: string[]): TaskInput => ({ args: paths }), output, signal, onProgress, baseDir, ...job } = options
  if (inputs.length === 0) throw new RangeError('reduce needs at least one input')
  if (!Number.isInteger(fanIn) || fanIn < 2) throw new RangeError(`fanIn must be an integer of at least 2, got ${fanIn}`)
  let level: ReadonlyArray<{ readonly cid: string }> = inputs
  for (let depth = 0; depth === 0 || level.length > 1; depth++) {
    const groups: Array<ReadonlyArray<{ readonly cid: string }>> = []
    for (let at = 0; at < level.length; at += fanIn) groups.push(level.slice(at, at + fanIn))
    const tasks = groups.map(group => {
      const built = task(group.map((_, i) => `/in/${i}`))
      return { ...built, inputs: { ...built.inputs, ...Object.fromEntries(group.map((input, i) => [String(i), input.cid])) } }
    })
    const spec = await jobSpecOf({ ...job, name: `${job.name ?? 'reduce'} (level ${depth + 1})` } as JobOptions, tasks)
    const outputs: TaskOutput[] = new Array(groups.length)
    for await (const outcome of completedTasks(client, spec, { signal, onProgress, baseDir })) outputs[outcome.idx] = await resultOf(client, outcome, output)
    level = outputs
  }
  return level[0] as TaskOutput
}

/** A done task's result: its stdout or the file `output` in /out; a task that exited non-zero throws with its stderr. */
export async function resultOf (client: ConunClient, outcome: FinishedTask, output?: string): Promise<TaskOutput> {
  const found = outcome.outputs.find(o => output === undefined ? o.kind === 'stdout' : o.kind === 'file' && o.path.replace(/^\/?out\//, '') === output)
  if (outcome.exitCode !== 0 || found === undefined) {
    const stderr = outcome.outputs.find(o => o.kind === 'stderr')
    const detail = stderr === undefined ? '' : (await client.contentBytes(stderr.cid)).toString('utf8').trim()
    throw new TaskFailedError(outcome.jobId, outcome, outcome.exitCode !== 0 ? `exit ${outcome.exitCode}` : 'no-output', found === undefined && outcome.exitCode === 0 ? `it wrote no ${output === undefined ? 'stdout' : `/out/${output}`}` : detail)
  }
  return outputOf(client, found)
}
