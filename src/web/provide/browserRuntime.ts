/**
 * The sandbox of a browser provider: the Runtime contract of src/runtime, fulfilled by Web Workers
 * running @bjorn3/browser_wasi_shim. Memory is capped by the same module patch as on a node; the
 * time limit terminates the worker (and a fresh one takes its place).
 */
import { capMemory, PAGE_BYTES, TaskFailure } from '../../runtime/index.ts'
import type { Runtime, TaskRunOutcome, TaskRunRequest } from '../../runtime/index.ts'
import type { MemoryDescriptor } from '../../runtime/index.ts'
import type { WorkerOutcome, WorkerTask } from './workerProtocol.ts'

export interface BrowserRuntime extends Runtime {
  /** Sandbox wall time of every task run so far, in ms. */
  readonly busyMs: number
}

/** `read` turns the references the content cache hands out back into bytes. */
export function createBrowserRuntime (slots: number, read: (reference: string) => Uint8Array): BrowserRuntime {
  const idle: Worker[] = []
  const all = new Set<Worker>()
  const compiled = new Map<string, Promise<{ module: WebAssembly.Module, memory: MemoryDescriptor | undefined }>>()
  let busyMs = 0

  const compile = (request: TaskRunRequest) => {
    const key = `${request.moduleCid}:${request.limits.memoryBytes}`
    let entry = compiled.get(key)
    if (entry === undefined) {
      entry = (async () => {
        const capped = capMemory(read(request.modulePath), Math.max(1, Math.floor(request.limits.memoryBytes / PAGE_BYTES)))
        return { module: await WebAssembly.compile(capped.bytes as Uint8Array<ArrayBuffer>), memory: capped.memories[0] }
      })()
      entry.catch(() => compiled.delete(key))
      compiled.set(key, entry)
    }
    return entry
  }

  const takeWorker = () => {
    const worker = idle.pop() ?? new Worker(new URL('./wasiWorker.ts', import.meta.url), { type: 'module' })
    all.add(worker)
    return worker
  }
  const kill = (worker: Worker) => {
    worker.terminate()
    all.delete(worker)
  }

  async function run (request: TaskRunRequest): Promise<TaskRunOutcome> {
    const started = performance.now()
    const usage = (memoryBytes: number) => ({ wallMs: performance.now() - started, memoryBytes })
    const empty = new Uint8Array(0)
    let program
    try {
      program = await compile(request)
    } catch (error) {
      // What the module itself causes (a memory it cannot have, bytes that do not compile) is
      // deterministic, as on a node; anything else is this tab's failure.
      const [reason, message] = error instanceof TaskFailure
        ? [error.reason, error.message]
        : [error instanceof WebAssembly.CompileError ? 'invalid-module' as const : 'internal' as const, `cannot compile the module: ${(error as Error).message}`]
      return { status: 'failed', reason, message, stdout: empty, stderr: empty, usage: usage(0) }
    }
    const task: WorkerTask = {
      module: program.module,
      memory: program.memory?.import === undefined ? undefined : program.memory,
      args: request.args,
      env: request.env,
      stdin: request.stdin ?? empty,
      inputs: request.inputs.map(input => ({ name: input.name, bytes: read(input.path) })),
      outputBytes: request.limits.outputBytes,
      capBytes: Math.max(1, Math.floor(request.limits.memoryBytes / PAGE_BYTES)) * PAGE_BYTES,
    }
    const worker = takeWorker()
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort = () => {}
    const outcome = await new Promise<WorkerOutcome | 'timeout' | 'cancelled' | Error>(resolve => {
      onAbort = () => resolve('cancelled')
      if (request.signal?.aborted === true) return onAbort()
      request.signal?.addEventListener('abort', onAbort, { once: true })
      timer = setTimeout(() => resolve('timeout'), request.limits.timeoutMs)
      worker.onmessage = (event: MessageEvent<WorkerOutcome>) => resolve(event.data)
      worker.onerror = event => resolve(new Error(event.message))
      worker.postMessage(task)
    })
    clearTimeout(timer)
    request.signal?.removeEventListener('abort', onAbort)
    busyMs += performance.now() - started
    if (typeof outcome === 'string' || outcome instanceof Error) {
      kill(worker)
      const [reason, message] = outcome === 'timeout'
        ? ['timeout', `timed out after ${request.limits.timeoutMs} ms`] as const
        : outcome === 'cancelled' ? ['cancelled', 'cancelled'] as const : ['internal', outcome.message] as const
      return { status: 'failed', reason, message, stdout: empty, stderr: empty, usage: usage(0) }
    }
    idle.push(worker)
    if (outcome.status === 'failed') return { ...outcome, usage: usage(outcome.memoryBytes) }
    return { status: 'exit', exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr, files: outcome.files, usage: usage(outcome.memoryBytes) }
  }

  return {
    name: 'wasi',
    slots,
    run,
    get busyMs () {
      return busyMs
    },
    async close () {
      for (const worker of all) worker.terminate()
      all.clear()
      idle.length = 0
    },
  }
}
