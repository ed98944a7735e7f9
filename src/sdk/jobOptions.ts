import { assemblyScriptModule } from './assemblyScriptModule.ts'
import { bytesView } from '../util/index.ts'
import type { JobSpecInput, TaskOutcome } from '../requester/index.ts'
import type { ConunClient } from './client.ts'

/** A job spec without its tasks: what the Task API's map and reduce steps run their tasks on. */
export type JobOptions = JobSpecInput extends infer Spec ? Spec extends unknown ? Omit<Spec, 'tasks' | 'range'> : never : never

/** One task, as the Task API builds it from an item: the README's `tasks[]` entry. */
export interface TaskInput {
  readonly args?: string[]
  readonly stdin?: string
  readonly env?: Record<string, string>
  /** Files this task alone sees under /in: name → local path or CID (any earlier output's CID). */
  readonly inputs?: Record<string, string>
}

/** An output of a task, held by the node: referenced by CID, its bytes read only on demand. */
export interface TaskOutput {
  readonly cid: string
  readonly size: number
  bytes(): Promise<Uint8Array>
}

/** The spec of a job of `tasks`; a WASI module given as an AssemblyScript .ts file is compiled (cached) first. */
export async function jobSpecOf (options: JobOptions, tasks: TaskInput[]): Promise<JobSpecInput> {
  const spec = { ...options, tasks: tasks.map(task => ({ ...task, args: task.args ?? [] })) } as JobSpecInput
  if (spec.runtime === 'wasi' && spec.module.endsWith('.ts')) return { ...spec, module: await assemblyScriptModule(spec.module) }
  return spec
}

export function outputOf (client: ConunClient, output: { cid: string, size: number }): TaskOutput {
  return { cid: output.cid, size: output.size, bytes: async () => outputBytes(client, output) }
}

/** An output's bytes: an empty one (most stdout and stderr of tasks that write files) without asking the node. */
export async function outputBytes (client: ConunClient, output: { cid: string, size: number }): Promise<Uint8Array> {
  // A view, not a copy: outputs can be large, and a copy is garbage at once.
  return output.size === 0 ? new Uint8Array() : bytesView(await client.contentBytes(output.cid))
}

/** A task's files from /out by their path inside it. */
export function filesOf (client: ConunClient, task: TaskOutcome): Record<string, TaskOutput> {
  return Object.fromEntries(task.outputs.filter(output => output.kind === 'file').map(output => [output.path.replace(/^\/?out\//, ''), outputOf(client, output)]))
}
