/** Hands one task to a worker and waits for its answer, the wall clock, the caller's abort or a crash. */
import type { Worker } from 'node:worker_threads'
import type { FailureInfo } from './errors.ts'
import type { RunMessage, WorkerMessage, WorkerOutcome } from './protocol.ts'

export type Settled =
  | { readonly kind: 'done', readonly outcome: WorkerOutcome }
  /** The worker is stuck or dead and must be discarded. */
  | ({ readonly kind: 'stopped' } & FailureInfo)

export function runOnWorker(worker: Worker, task: RunMessage, timeoutMs: number, signal?: AbortSignal): Promise<Settled> {
  return new Promise((resolve) => {
    const settle = (result: Settled): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
      resolve(result)
    }
    const onMessage = (message: WorkerMessage): void => {
      if (message.type === 'done') settle({ kind: 'done', outcome: message.outcome })
    }
    const onAbort = (): void => settle({ kind: 'stopped', reason: 'cancelled', message: 'cancelled by the caller' })
    const onError = (err: Error & { code?: string }): void => {
      settle(err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? { kind: 'stopped', reason: 'memory-limit', message: `the worker ran out of JavaScript heap: ${err.message}` }
        : { kind: 'stopped', reason: 'internal', message: `the worker crashed: ${err.message}` })
    }
    const onExit = (code: number): void =>
      settle({ kind: 'stopped', reason: 'internal', message: `the worker exited during the task (exit code ${code})` })
    // A busy loop never yields, so terminating the worker is the only way to stop it.
    const timer = setTimeout(() => settle({ kind: 'stopped', reason: 'timeout', message: `timed out after ${timeoutMs} ms` }), timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.on('exit', onExit)
    worker.postMessage(task)
  })
}
