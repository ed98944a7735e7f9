import type { TaskOutcome } from '../requester/index.ts'
import { ConunError } from '../util/index.ts'

/**
 * A task of a Task API job that did not give a result: it failed (the sandbox's reason, e.g.
 * `invalid-module`, `timeout`, `trap`), was cancelled, or (for a reduce) exited non-zero.
 * The rest of its job is cancelled.
 */
export class TaskFailedError extends ConunError {
  override readonly name: string = 'TaskFailedError'
  readonly code: string = 'task-failed'
  readonly kind = 'refused'
  readonly jobId: string
  readonly idx: number
  /** The failure reason from the README's table, `cancelled`, or `exit <code>`. */
  readonly reason: string
  readonly attempts: number
  constructor (jobId: string, task: Pick<TaskOutcome, 'idx' | 'attempts'>, reason: string, detail: string) {
    super(`task ${task.idx} of job ${jobId} failed (${reason}) after ${task.attempts} attempt(s): ${detail}\n  ${nextStep(reason)}`)
    this.jobId = jobId
    this.idx = task.idx
    this.reason = reason
    this.attempts = task.attempts
  }
}

/** No provider offered to run the job's tasks before its `waitForProvidersMs` ran out. */
export class NoProvidersError extends TaskFailedError {
  override readonly name = 'NoProvidersError'
  override readonly code = 'no-providers'
}

function nextStep (reason: string): string {
  switch (reason) {
    case 'no-provider': return 'no provider took the job: check `conun peers` for offers, and that the job\'s runtime, price and constraints match one; or raise waitForProvidersMs'
    case 'invalid-module': return 'the module is not a WASI command: build it for wasm32-wasip1 (or give an AssemblyScript .ts file) and check it exports _start and its memory'
    case 'invalid-image': return 'the image is not a `docker save` tarball of one image'
    case 'timeout': return 'raise limits.timeoutMs or give each task less work'
    case 'memory-limit': return 'raise limits.memoryMb or give each task less data'
    case 'output-limit': return 'raise limits.outputMb or write less to stdout and /out'
    case 'trap': return 'the module trapped (a bug in it, or bad args): run it locally on the same args'
    case 'cancelled': return 'the job was cancelled (through its AbortSignal, `conun job cancel` or the API)'
    default: return reason.startsWith('exit ') ? 'the task exited with an error: its stderr is above' : 'see the README\'s "How a task can fail"'
  }
}
