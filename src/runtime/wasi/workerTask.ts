/** One task inside a worker, synchronously: folders, sandboxed WASI instance, `_start`, outputs. */
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { WASI } from 'node:wasi'
import { describeRunError, TaskFailure } from './errors.ts'
import type { RunMessage, WorkerOutcome } from './protocol.ts'
import { MemoryPool } from './memoryPool.ts'
import { createSandbox, type Sandbox, type WasiFunction } from './sandboxImports.ts'
import { nearMemoryCap } from './sandboxRules.ts'
import { collectOutputs, placeInputs } from './taskFiles.ts'
import { wasm, type WasmImports, type WasmInstance, type WasmMemory } from './webAssembly.ts'

/** The fds node:wasi gives preopens, in the order they are listed (0–2 are stdio). */
const IN_FD = 3
const OUT_FD = 4

/** Folders this worker has made; they are emptied after every task and reused by the next. */
const madeFolders = new Set<string>()
/** Imported memories (hoisted ones included, see hoistMemory.ts) that tasks gave back. */
const memories = new MemoryPool()

export interface WorkerTaskRun {
  readonly outcome: WorkerOutcome
  /** Bytes of task memory the run left to the garbage collector (0 where the pool kept it). */
  readonly garbageBytes: number
}

export function runWorkerTask(task: RunMessage, stdioFds: readonly number[]): WorkerTaskRun {
  const { inDir, outDir } = task
  try {
    prepareFolder(inDir)
    prepareFolder(outDir)
    placeInputs(inDir, task.inputs)
    return runModule(task, inDir, outDir, stdioFds)
  } catch (err) {
    return { outcome: { status: 'failed', memoryBytes: 0, ...describeRunError(err) }, garbageBytes: 0 }
  } finally {
    emptyFolder(inDir)
    emptyFolder(outDir)
  }
}

/**
 * Each worker keeps one /in and one /out folder for its life, made by us (0700) and emptied after
 * every task: creating and removing two folders per task cost more than running a small module.
 * Modules cannot leave links behind (the shim refuses them), so an empty folder is a clean one.
 */
function prepareFolder(dir: string): void {
  if (madeFolders.has(dir)) return
  mkdirSync(dir, { mode: 0o700 })
  madeFolders.add(dir)
}

function emptyFolder(dir: string): void {
  try {
    for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true })
  } catch {
    rmSync(dir, { recursive: true, force: true })
    madeFolders.delete(dir)
  }
}

function runModule(task: RunMessage, inDir: string, outDir: string, stdioFds: readonly number[]): WorkerTaskRun {
  const [stdin, stdout, stderr] = stdioFds
  const wasi = new WASI({
    version: 'preview1',
    args: ['task.wasm', ...task.args],
    env: task.env,
    preopens: { '/in': inDir, '/out': outDir },
    returnOnExit: true,
    stdin,
    stdout,
    stderr,
  })
  const sandbox = createSandbox({
    wasiImport: wasi.wasiImport as Record<string, WasiFunction>,
    stdin: task.stdin,
    stdout: task.stdout,
    stderr: task.stderr,
    outputBytes: task.outputBytes,
    preopenFds: [IN_FD, OUT_FD],
    readOnlyFd: IN_FD,
  })
  const { memory: plan } = task
  const imported = plan.import ? memories.take(plan) : undefined
  const imports: WasmImports = { wasi_snapshot_preview1: sandbox.imports }
  if (plan.import && imported) imports[plan.import.module] = { ...imports[plan.import.module], [plan.import.name]: imported }

  // uvwasi opened the preopens already; closing them needs bindings, so bind a throwaway memory.
  const giveUp = (failure: Error): never => {
    wasi.finalizeBindings({ exports: {} }, { memory: imported ?? new wasm.Memory({ initial: 0 }) })
    sandbox.closeOpenFds()
    throw failure
  }
  let instance: WasmInstance
  try {
    instance = new wasm.Instance(task.module, imports)
  } catch (err) {
    // A trap in the module's start function is the module's doing; anything else means it cannot link.
    return giveUp(err instanceof wasm.RuntimeError
      ? err
      : new TaskFailure('invalid-module', `cannot instantiate the module: ${describeRunError(err).message}`))
  }
  const memory = instance.exports.memory ?? imported
  const start = instance.exports._start
  if (!(memory instanceof wasm.Memory) || typeof start !== 'function') {
    return giveUp(new TaskFailure('invalid-module', 'a WASI command must have a memory and export _start'))
  }
  wasi.finalizeBindings(instance, { memory })
  sandbox.attach(memory)
  try {
    const outcome = finish(task, outDir, memory, sandbox, start as () => unknown)
    return { outcome, garbageBytes: memory === imported && memories.give(memory, plan) ? 0 : outcome.memoryBytes }
  } finally {
    releaseMemory(wasi)
  }
}

/** An empty memory that finished tasks' WASI bindings point at instead of theirs. */
const RELEASED = new wasm.Memory({ initial: 0 })

/**
 * node:wasi's native bindings hold the task's memory strongly until the WASI object itself is
 * collected, so a finished task's memory was freed only by the collection after the one that
 * found it garbage: twice the task memory the worker's budget allows sat in the worker (164
 * memories of the trivial task instead of about 80). The bindings are pointed at an empty memory
 * once the task is over, through node:wasi's own setter (no public API drops the memory); where a
 * Node version has no such setter, the memory waits for that second collection, as before.
 */
function releaseMemory(wasi: WASI): void {
  const setMemory = Object.getOwnPropertySymbols(wasi).find(symbol => symbol.description === 'kSetMemory')
  const setter = setMemory === undefined ? undefined : (wasi as unknown as Record<symbol, unknown>)[setMemory]
  if (typeof setter === 'function') setter.call(wasi, RELEASED)
}

function finish(task: RunMessage, outDir: string, memory: WasmMemory, sandbox: Sandbox, start: () => unknown): WorkerOutcome {
  let thrown: unknown
  try {
    start()
  } catch (err) {
    thrown = err
  } finally {
    sandbox.closeOpenFds()
  }
  const memoryBytes = memory.buffer.byteLength
  const halt = sandbox.halt()
  if (halt?.kind === 'failed') return { status: 'failed', memoryBytes, reason: halt.failure.reason, message: halt.failure.message }
  const exitCode = halt?.kind === 'exit' ? halt.code : 0
  const failure = halt === undefined && thrown !== undefined ? describeRunError(thrown) : undefined
  if ((failure?.reason === 'trap' || (!failure && exitCode !== 0)) && nearMemoryCap(memoryBytes, task.capBytes)) {
    const how = failure ? failure.message : `exit code ${exitCode}`
    return {
      status: 'failed',
      memoryBytes,
      reason: 'memory-limit',
      message: `ran out of memory at ${memoryBytes} of the ${task.capBytes} bytes allowed (${how})`,
    }
  }
  if (failure) return { status: 'failed', memoryBytes, ...failure }
  try {
    const files = collectOutputs(outDir, task.outputBytes - task.stdout.byteLength - task.stderr.byteLength)
    return { status: 'exit', exitCode, files, memoryBytes }
  } catch (err) {
    return { status: 'failed', memoryBytes, ...describeRunError(err) }
  }
}
