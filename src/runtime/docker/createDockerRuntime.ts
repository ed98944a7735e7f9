/**
 * The Docker runtime: each task in a container of its own, through the Engine API on the local
 * socket — no network, read-only root, no capabilities, no new privileges, a non-root user, caps on
 * processes, memory and CPU, /in read-only, a capped /out, a wall clock, and the container always
 * removed. Results have the same shape as the WASI runtime's.
 */
import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Semaphore } from '../../util/index.ts'
import { checkRequest } from '../wasi/checkRequest.ts'
import { TaskFailure } from '../wasi/errors.ts'
import { collectOutputs, MAX_OUTPUT_FILES } from '../wasi/taskFiles.ts'
import { containerSpec, FILE_SIZE_EXIT_CODE } from './containerSpec.ts'
import { createDockerEngine, DEFAULT_DOCKER_SOCKET } from './engine.ts'
import { DockerEngineError, InvalidImageError } from './errors.ts'
import { ImageStore } from './imageStore.ts'
import { OutputCapture } from './outputCapture.ts'
import { makeTaskDirs, measureDir, removeTaskDirs } from './taskDirs.ts'
import type { Runtime, TaskFailureReason, TaskRunOutcome, TaskRunRequest } from '../types.ts'
import type { DockerEngine } from './engine.ts'
import type { TaskDirs } from './taskDirs.ts'
import { Settling } from '../settling.ts'

export interface DockerRuntimeOptions {
  /** Tasks that may run at once. */
  readonly slots: number
  /** Where each task's /in and /out folders live on the host. */
  readonly workDir: string
  readonly socketPath?: string
  /** Processes (and threads) one task may have at once (default 128): a fork bomb stops there. */
  readonly pidsLimit?: number
  /** CPU cores one task may use (default 1). */
  readonly cpusPerTask?: number
}

export interface DockerRuntimeStats {
  /** Image tarballs loaded into the engine so far; a cached CID does not load again. */
  readonly imageLoads: number
  /** Containers of this runtime that exist right now (created and not yet removed). */
  readonly containers: number
}

export interface DockerRuntime extends Runtime {
  readonly engine: DockerEngine
  stats(): DockerRuntimeStats
  /** Pauses (freezes) or resumes every running task, e.g. while the machine's owner needs it. */
  pauseAll(): Promise<void>
  resumeAll(): Promise<void>
  /** Ends every paused task with reason `given-back`, so its requester runs it elsewhere. */
  giveBackPaused(message: string): Promise<void>
  /** CPU time this runtime's containers have used so far, in ms (for telling conun's load from the owner's). */
  cpuMs(): Promise<number>
}

/** Label carrying the work folder: it marks this runtime's containers, and only those are swept. */
const WORKDIR_LABEL = 'org.conun.workdir'
/** How often a running task's /out is measured. */
const WATCHDOG_MS = 200
/** The engine's smallest memory limit. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024
/** stdout and stderr are held in memory, so their capture stops here even under a larger output limit. */
const CAPTURE_CEILING_BYTES = 1024 ** 3

/** Connects to the engine, removes containers a previous run of this work folder left behind, and returns the runtime. */
export async function createDockerRuntime (options: DockerRuntimeOptions): Promise<DockerRuntime> {
  const { slots, workDir } = options
  if (!Number.isInteger(slots) || slots < 1) throw new Error('slots must be a whole number ≥ 1')
  const engine = createDockerEngine(options.socketPath ?? DEFAULT_DOCKER_SOCKET)
  await mkdir(workDir, { recursive: true })
  const images = new ImageStore(engine)
  const gate = new Semaphore(slots)
  const labels = { [WORKDIR_LABEL]: workDir }
  // Tasks never run as root; as the provider's own user they leave nothing it cannot clean up.
  const uid = process.getuid?.() ?? 0
  const user = uid === 0 ? '65534:65534' : `${uid}:${process.getgid?.() ?? uid}`
  /** Running containers, and how to stop each with a reason. */
  const live = new Map<string, (reason: TaskFailureReason, message: string) => void>()
  /** Last CPU reading per live container, and the total of those removed. */
  const cpuSeen = new Map<string, number>()
  let removedCpuMs = 0
  const running = new Settling<TaskRunOutcome>()
  let closed = false
  let paused = false

  const removeContainer = async (id: string): Promise<void> => {
    live.delete(id)
    removedCpuMs += cpuSeen.get(id) ?? 0
    cpuSeen.delete(id)
    await engine.json('DELETE', `/containers/${id}?force=1&v=1`).catch(error => {
      if (!(error instanceof DockerEngineError && error.status === 404)) throw error
    })
  }
  const leftovers = await engine.json<Array<{ Id: string }>>('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`${WORKDIR_LABEL}=${workDir}`] }))}`)
  await Promise.all(leftovers.map(container => removeContainer(container.Id)))

  const create = async (request: TaskRunRequest, dirs: TaskDirs): Promise<string> => {
    for (let tries = 0; ; tries++) {
      const imageId = await images.imageId(request.moduleCid, request.modulePath)
      const body = containerSpec({ imageId, request, inDir: dirs.inDir, outDir: dirs.outDir, user, labels, pidsLimit: options.pidsLimit ?? 128, cpus: options.cpusPerTask ?? 1 })
      try {
        return (await engine.json<{ Id: string }>('POST', '/containers/create', { body })).Id
      } catch (error) {
        // The image was removed behind our back (pruned): load it again, once.
        if (tries > 0 || !(error instanceof DockerEngineError && error.status === 404)) throw error
        images.forget(request.moduleCid)
      }
    }
  }

  const execute = async (request: TaskRunRequest): Promise<TaskRunOutcome> => {
    if (closed) throw new Error('the runtime is closed')
    checkRequest(request)
    const { limits, signal } = request
    if (limits.memoryBytes < MIN_MEMORY_BYTES) throw new Error(`limits.memoryBytes must be at least ${MIN_MEMORY_BYTES} bytes for a container`)
    try {
      await gate.acquire(signal)
    } catch {
      return failed('cancelled', 'cancelled by the caller', 0)
    }
    const started = performance.now()
    let dirs: TaskDirs | undefined
    let id: string | undefined
    try {
      if (closed || signal?.aborted) return failed('cancelled', closed ? 'the runtime was closed' : 'cancelled by the caller', 0)
      dirs = await makeTaskDirs(join(workDir, `task-${randomUUID()}`), request.inputs)
      id = await create(request, dirs)
      return await runContainer(engine, id, request, dirs, () => paused, stop => live.set(id!, stop))
    } catch (error) {
      const wallMs = performance.now() - started
      if (error instanceof InvalidImageError) return failed('invalid-image', error.message, wallMs)
      if (closed || signal?.aborted) return failed('cancelled', closed ? 'the runtime was closed' : 'cancelled by the caller', wallMs)
      return failed('internal', (error as Error).message, wallMs)
    } finally {
      try {
        // A container the engine failed to remove keeps its label: the next start sweeps it.
        if (id !== undefined) await removeContainer(id).catch(() => {})
        if (dirs !== undefined) await removeTaskDirs(dirs)
      } finally {
        gate.release()
      }
    }
  }

  const everyLive = (action: 'pause' | 'unpause') => Promise.all([...live.keys()].map(id =>
    engine.json('POST', `/containers/${id}/${action}`).catch(() => { /* it ended meanwhile */ })))

  return {
    name: 'docker',
    slots,
    engine,
    run: request => running.track(execute(request)),
    // Kills whatever still runs and resolves once every container is removed.
    close: async () => {
      closed = true
      for (const stop of live.values()) stop('cancelled', 'the runtime was closed')
      await running.all()
    },
    stats: () => ({ imageLoads: images.loads, containers: live.size }),
    pauseAll: async () => {
      paused = true
      await everyLive('pause')
    },
    resumeAll: async () => {
      paused = false
      await everyLive('unpause')
    },
    giveBackPaused: async message => {
      if (paused) for (const stop of live.values()) stop('given-back', message)
    },
    cpuMs: async () => {
      await Promise.all([...live.keys()].map(async id => {
        const stats = await engine.json<{ cpu_stats?: { cpu_usage?: { total_usage?: number } } }>('GET', `/containers/${id}/stats?stream=false&one-shot=true`).catch(() => undefined)
        const usedNs = stats?.cpu_stats?.cpu_usage?.total_usage
        // An exited container reads 0: keep its last reading.
        if (usedNs !== undefined && usedNs > 0) cpuSeen.set(id, usedNs / 1e6)
      }))
      let total = removedCpuMs
      for (const ms of cpuSeen.values()) total += ms
      return total
    },
  }
}

/** Attaches, starts, enforces the wall clock and the output limit, and turns the end into an outcome. */
async function runContainer (engine: DockerEngine, id: string, request: TaskRunRequest, dirs: TaskDirs, isPaused: () => boolean, register: (stop: (reason: TaskFailureReason, message: string) => void) => void): Promise<TaskRunOutcome> {
  const { limits, signal } = request
  let stopped: { reason: TaskFailureReason, message: string } | undefined
  const stop = (reason: TaskFailureReason, message: string): void => {
    if (stopped !== undefined) return
    stopped = { reason, message }
    // A paused container cannot be killed; SIGKILL through the engine works on a frozen one after unpause.
    void (async () => {
      if (isPaused()) await engine.json('POST', `/containers/${id}/unpause`).catch(() => {})
      await engine.json('POST', `/containers/${id}/kill`).catch(() => { /* it has just ended */ })
    })()
  }
  register(stop)
  const capture = new OutputCapture(Math.min(limits.outputBytes, CAPTURE_CEILING_BYTES), () =>
    stop('output-limit', `stdout and stderr passed the ${limits.outputBytes} bytes allowed`))
  const stream = await engine.hijack(`/containers/${id}/attach?stream=1&stdout=1&stderr=1${request.stdin === undefined ? '' : '&stdin=1'}`)
  const ended = new Promise<void>(resolve => stream.once('close', () => resolve()))
  stream.on('data', (chunk: Buffer) => capture.push(chunk))
  stream.on('error', () => { /* the close that follows ends the wait */ })

  const onAbort = () => stop('cancelled', 'cancelled by the caller')
  signal?.addEventListener('abort', onAbort, { once: true })
  let timer: NodeJS.Timeout | undefined
  let watchdog: NodeJS.Timeout | undefined
  const started = performance.now()
  try {
    await engine.json('POST', `/containers/${id}/start`)
    // Started just as the runtime paused: it waits with the others.
    if (isPaused()) await engine.json('POST', `/containers/${id}/pause`).catch(() => {})
    if (request.stdin !== undefined) stream.end(request.stdin)
    timer = setTimeout(() => stop('timeout', `timed out after ${limits.timeoutMs} ms`), limits.timeoutMs)
    let measuring = false
    watchdog = setInterval(() => {
      if (measuring) return
      measuring = true
      measureDir(dirs.outDir).then(({ bytes, entries }) => {
        if (bytes + capture.bytes > limits.outputBytes) stop('output-limit', `files in /out passed the ${limits.outputBytes} bytes allowed`)
        // Folders count too: the task could otherwise fill the host with empty ones.
        else if (entries > MAX_OUTPUT_FILES) stop('output-limit', `more than ${MAX_OUTPUT_FILES} entries in /out`)
      }, () => {}).finally(() => { measuring = false })
    }, WATCHDOG_MS)
    if (signal?.aborted) onAbort()
    await ended
    const { StatusCode: exitCode } = await engine.json<{ StatusCode: number }>('POST', `/containers/${id}/wait`)
    const state = (await engine.json<{ State: { OOMKilled: boolean } }>('GET', `/containers/${id}/json`)).State
    const wallMs = performance.now() - started
    const printed = { stdout: capture.stdout, stderr: capture.stderr, usage: { wallMs, memoryBytes: 0 } }
    const failure = stopped ??
      (state.OOMKilled ? { reason: 'memory-limit' as const, message: `killed for using more than the ${limits.memoryBytes} bytes of memory allowed` } : undefined) ??
      (exitCode === FILE_SIZE_EXIT_CODE ? { reason: 'output-limit' as const, message: 'a file passed the size allowed (SIGXFSZ)' } : undefined)
    if (failure !== undefined) return { status: 'failed', ...failure, ...printed }
    try {
      const files = collectOutputs(dirs.outDir, limits.outputBytes - capture.bytes)
      return { status: 'exit', exitCode, files, ...printed }
    } catch (error) {
      if (error instanceof TaskFailure) return { status: 'failed', reason: error.reason, message: error.message, ...printed }
      throw error
    }
  } finally {
    clearTimeout(timer)
    clearInterval(watchdog)
    signal?.removeEventListener('abort', onAbort)
    stream.destroy()
  }
}

function failed (reason: TaskFailureReason, message: string, wallMs: number): TaskRunOutcome {
  return { status: 'failed', reason, message, stdout: new Uint8Array(0), stderr: new Uint8Array(0), usage: { wallMs, memoryBytes: 0 } }
}
