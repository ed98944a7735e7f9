import type { TaskFailureReason } from '../types.ts'
import { wasm } from './webAssembly.ts'

/** A task ended for a reason the caller should see; thrown inside the runtime, reported as an outcome. */
export class TaskFailure extends Error {
  readonly reason: TaskFailureReason

  constructor(reason: TaskFailureReason, message: string) {
    super(message)
    this.name = 'TaskFailure'
    this.reason = reason
  }
}

export interface FailureInfo {
  readonly reason: TaskFailureReason
  readonly message: string
}

/** Maps whatever escaped a module's execution to a failure reason. */
export function describeRunError(err: unknown): FailureInfo {
  if (err instanceof TaskFailure) return { reason: err.reason, message: err.message }
  if (err instanceof wasm.RuntimeError) return { reason: 'trap', message: `trap: ${err.message}` }
  // Deep recursion in wasm exhausts the worker's native stack; for the task that is a trap.
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return { reason: 'trap', message: `trap: stack overflow (${err.message})` }
  }
  if (err instanceof wasm.CompileError || err instanceof wasm.LinkError) {
    return { reason: 'invalid-module', message: err.message }
  }
  return { reason: 'internal', message: err instanceof Error ? err.message : String(err) }
}
