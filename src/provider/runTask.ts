import { EMPTY_OUTPUT } from '../storage/index.ts'
import { fromBase64 } from '../util/index.ts'
import { publishOutput } from './publishOutput.ts'
import type { ContentCache, TaskStorage } from './providerContext.ts'
import type { TaskAssignment, TaskResult } from '../net/index.ts'
import type { Runtime, TaskRunOutcome } from '../runtime/index.ts'
import type { PeerId } from '@libp2p/interface'

export interface RunTaskDeps {
  readonly runtime: Runtime
  readonly storage: TaskStorage
  readonly cache: ContentCache
  /** Where the code and inputs can be found first (the requester). */
  readonly source: PeerId
}

const MAX_INLINE_STDIN = 1024 * 1024

/**
 * Fetches what a task needs by CID and runs it in the sandbox: its outcome, or the result of a
 * task that never ran. What it returns still has to be published (publishResult), which needs no
 * sandbox, so the caller can hand its slot to the next task first.
 */
export async function runTask (task: TaskAssignment, deps: RunTaskDeps, signal: AbortSignal): Promise<TaskRunOutcome | TaskResult> {
  const fetchOptions = { from: [deps.source], signal }
  try {
    const [modulePath, inputs, stdin] = await Promise.all([
      deps.cache.get(task.module.cid, task.module.size, fetchOptions),
      Promise.all(task.inputs.map(async input => ({ name: input.name, path: await deps.cache.get(input.cid, input.size, fetchOptions) }))),
      task.stdin === undefined
        ? undefined
        : 'inline' in task.stdin
          ? fromBase64(task.stdin.inline)
          : deps.storage.readBytes(task.stdin.cid, Math.min(task.stdin.size, MAX_INLINE_STDIN * 64), fetchOptions),
    ])
    return await deps.runtime.run({ moduleCid: task.module.cid, modulePath, args: task.args, env: task.env, stdin, inputs, limits: task.limits, signal })
  } catch (error) {
    const reason = signal.aborted ? 'cancelled' : 'fetch-failed'
    return failedResult(task, reason, (error as Error).message)
  }
}

/** A task's result from its outcome: outputs too large to ride inside it are stored, to be fetched by CID. */
export async function publishResult (task: TaskAssignment, outcome: TaskRunOutcome, storage: TaskStorage): Promise<TaskResult> {
  try {
    const [stdout, stderr] = await Promise.all([publishOutput(storage, outcome.stdout), publishOutput(storage, outcome.stderr)])
    const usage = { wallMs: Math.round(outcome.usage.wallMs * 1000) / 1000, memoryBytes: outcome.usage.memoryBytes }
    if (outcome.status === 'failed') {
      return { taskId: task.taskId, attempt: task.attempt, status: 'failed', reason: outcome.reason, message: outcome.message.slice(0, 4000), stdout, stderr, files: [], usage }
    }
    const files = await Promise.all(outcome.files.map(async file => ({ path: file.path, ...(await publishOutput(storage, file.bytes)) })))
    return { taskId: task.taskId, attempt: task.attempt, status: 'exit', exitCode: outcome.exitCode, stdout, stderr, files, usage }
  } catch (error) {
    return failedResult(task, 'internal', `cannot store the task's outputs: ${(error as Error).message}`)
  }
}

/** A result for a task that never ran to an outcome of its own. */
export function failedResult (task: TaskAssignment, reason: NonNullable<TaskResult['reason']>, message: string): TaskResult {
  return { taskId: task.taskId, attempt: task.attempt, status: 'failed', reason, message: message.slice(0, 4000), stdout: EMPTY_OUTPUT, stderr: EMPTY_OUTPUT, files: [], usage: { wallMs: 0, memoryBytes: 0 } }
}
