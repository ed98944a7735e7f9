/**
 * The WASI runtime: WebAssembly/WASI preview-1 commands from any toolchain, run in a pool of
 * long-lived worker threads with a capped memory, a wall clock, bounded output and a read-only /in.
 */
import { mkdirSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { Worker } from 'node:worker_threads'
import type { Runtime, TaskFailureReason, TaskRunOutcome, TaskRunRequest } from '../types.ts'
import { PAGE_BYTES } from './capMemory.ts'
import { checkRequest } from './checkRequest.ts'
import { describeRunError } from './errors.ts'
import { type CompiledModule, ModuleCache } from './moduleCache.ts'
import type { RunMessage } from './protocol.ts'
import { closeFdsUnder } from './reclaimFds.ts'
import { runOnWorker } from './runOnWorker.ts'
import { WorkerPool } from './workerPool.ts'
import { writeWorkerScript } from './workerScript.ts'
import { Settling } from '../settling.ts'

export interface WasiRuntimeOptions {
  /** Tasks that may run at once, one worker thread each. */
  readonly slots: number
  /** Where each task's temporary /in and /out folders live. */
  readonly workDir: string
  /** Compiled modules kept in memory (default 64). */
  readonly moduleCacheSize?: number
  /** How long a worker may sit idle before it ends (default 60 s); the next task starts one again. */
  readonly workerIdleMs?: number
}

export interface WasiRuntimeStats {
  /** Modules compiled so far; a cache hit does not compile. */
  readonly compiles: number
  readonly cachedModules: number
  /** Worker threads started so far, including replacements for killed or crashed ones. */
  readonly workersStarted: number
  /** Worker threads running now, busy or idle. */
  readonly workersLive: number
}

export interface WasiRuntime extends Runtime {
  stats(): WasiRuntimeStats
}

/** The JS side of a worker is small; wasm memory is capped separately, in the module. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 32 }
/** The folder in workDir that holds the worker's modules. */
export const WORKER_SCRIPT_DIR = 'modules'
/** An idle worker ends after this long by default; the next task starts one again (tens of ms). */
const WORKER_IDLE_MS = 60_000
/** stdout and stderr are held in memory, so their capture stops here even under a larger output limit. */
const CAPTURE_CEILING_BYTES = 1024 ** 3

export function createWasiRuntime(options: WasiRuntimeOptions): WasiRuntime {
  // Compile modules straight to optimised code. V8's default starts them in its baseline compiler
  // and tiers up only on a later call, so a task that is one long call ran 2.5× slower the first
  // time on each provider (measured: 970 ms vs 386 ms). Modules are compiled once per CID, so the
  // longer compile is paid once. The flag is process-wide; this process runs tasks.
  setFlagsFromString('--no-liftoff')
  // Workers collect their tasks' garbage themselves (see worker.ts); gc() exists only in isolates
  // created after this, i.e. the workers.
  setFlagsFromString('--expose-gc')
  const { slots, workDir } = options
  if (!Number.isInteger(slots) || slots < 1) throw new Error('slots must be a whole number ≥ 1')
  mkdirSync(workDir, { recursive: true })
  const cache = new ModuleCache(options.moduleCacheSize ?? 64)
  // The worker's modules as JavaScript (see workerScript.ts), beside the task folders; close removes them.
  const scriptDir = join(workDir, WORKER_SCRIPT_DIR)
  const workerUrl = writeWorkerScript(scriptDir)
  const pool = new WorkerPool(slots, () => new Worker(workerUrl, {
    // Every worker would otherwise print node:wasi's "experimental" warning.
    execArgv: ['--disable-warning=ExperimentalWarning'],
    resourceLimits: WORKER_LIMITS,
  }), { idleMs: options.workerIdleMs ?? WORKER_IDLE_MS, onRetired: worker => void removeFolders(worker) })
  let closed = false
  const running = new Settling<TaskRunOutcome>()

  // Each worker reuses one pair of task folders (see workerTask.ts); a discarded worker's are removed.
  const folders = new Map<Worker, string>()
  const folderOf = (worker: Worker): string => {
    let folder = folders.get(worker)
    if (folder === undefined) {
      folder = join(workDir, `worker-${randomUUID()}`)
      folders.set(worker, folder)
    }
    return folder
  }
  const removeFolders = async (worker: Worker): Promise<void> => {
    const folder = folders.get(worker)
    folders.delete(worker)
    if (folder === undefined) return
    for (const dir of [`${folder}-in`, `${folder}-out`]) {
      closeFdsUnder(dir)
      await rm(dir, { recursive: true, force: true })
    }
  }

  const execute = async (request: TaskRunRequest): Promise<TaskRunOutcome> => {
    if (closed) throw new Error('the runtime is closed')
    checkRequest(request)
    const { limits, signal } = request
    if (signal?.aborted) return failed('cancelled', 'cancelled by the caller')

    let compiled: CompiledModule
    try {
      compiled = await cache.get(request.moduleCid, request.modulePath, limits.memoryBytes)
    } catch (err) {
      const { reason, message } = describeRunError(err)
      return failed(reason, reason === 'internal' ? `cannot load the module: ${message}` : message)
    }

    let worker: Worker
    try {
      worker = await pool.acquire(signal)
    } catch (err) {
      return failed(signal?.aborted || closed ? 'cancelled' : 'internal', (err as Error).message)
    }
    if (signal?.aborted) {
      pool.release(worker)
      return failed('cancelled', 'cancelled by the caller')
    }
    const folder = folderOf(worker)

    const captureBytes = Math.min(limits.outputBytes, CAPTURE_CEILING_BYTES)
    const task: RunMessage = {
      type: 'run',
      module: compiled.module,
      memory: compiled.memory,
      capBytes: Math.floor(limits.memoryBytes / PAGE_BYTES) * PAGE_BYTES,
      inDir: `${folder}-in`,
      outDir: `${folder}-out`,
      args: request.args,
      env: request.env,
      stdin: request.stdin ?? new Uint8Array(0),
      inputs: request.inputs,
      outputBytes: limits.outputBytes,
      stdout: new SharedArrayBuffer(0, { maxByteLength: captureBytes }),
      stderr: new SharedArrayBuffer(0, { maxByteLength: captureBytes }),
    }
    const started = performance.now()
    const settled = await runOnWorker(worker, task, limits.timeoutMs, signal)
    const wallMs = performance.now() - started
    const stdout = new Uint8Array(task.stdout).slice()
    const stderr = new Uint8Array(task.stderr).slice()

    if (settled.kind === 'done') {
      pool.release(worker)
      const { outcome } = settled
      const usage = { wallMs, memoryBytes: outcome.memoryBytes }
      return outcome.status === 'exit'
        ? { status: 'exit', exitCode: outcome.exitCode, stdout, stderr, files: outcome.files, usage }
        : { status: 'failed', reason: outcome.reason, message: outcome.message, stdout, stderr, usage }
    }
    // The worker never finished: kill it, then clean up what it left behind.
    await pool.discard(worker)
    await removeFolders(worker)
    const reason = closed ? 'cancelled' : settled.reason
    const message = closed ? 'the runtime was closed' : settled.message
    return { status: 'failed', reason, message, stdout, stderr, usage: { wallMs, memoryBytes: 0 } }
  }

  return {
    name: 'wasi',
    slots,
    run: request => running.track(execute(request)),
    // Resolves once every task has settled and cleaned up, so workDir can be removed afterwards.
    close: async () => {
      closed = true
      await pool.close()
      await running.all()
      await Promise.all([...folders.keys()].map(removeFolders))
      await rm(scriptDir, { recursive: true, force: true })
    },
    stats: () => ({ compiles: cache.compiles, cachedModules: cache.size, workersStarted: pool.started, workersLive: pool.live }),
  }
}

function failed(reason: TaskFailureReason, message: string): TaskRunOutcome {
  return { status: 'failed', reason, message, stdout: new Uint8Array(0), stderr: new Uint8Array(0), usage: { wallMs: 0, memoryBytes: 0 } }
}
