/**
 * The WebGPU runtime: WGSL compute kernels on the provider's GPU through Dawn, each task in a GPU
 * process of its own (see gpuProcess.ts) with a wall clock, a cap on its buffers' bytes (the task's
 * memory) and on its outputs' bytes. A task sees nothing but its buffers: /in files it names, its
 * params and its outputs, which become files in /out.
 */
import { readFile, stat } from 'node:fs/promises'
import { messageOf, Semaphore } from '../../util/index.ts'
import { checkRequest } from '../wasi/checkRequest.ts'
import { Settling } from '../settling.ts'
import { TaskFailure } from '../wasi/errors.ts'
import { checkGpuTask } from './checkGpuTask.ts'
import { spawnGpuProcess } from './spawnGpuProcess.ts'
import type { Runtime, TaskFailureReason, TaskRunOutcome, TaskRunRequest } from '../types.ts'
import type { DetectedGpu } from './detectGpu.ts'
import type { GpuInfo, GpuRun } from './protocol.ts'

export interface WebGpuRuntimeOptions {
  /** The adapter found at start (detectGpu). */
  readonly gpu: DetectedGpu
  /** Tasks that may run at once (default 1: they share one GPU). */
  readonly slots?: number
}

export interface WebGpuRuntime extends Runtime {
  readonly gpu: GpuInfo
}

const empty = new Uint8Array(0)

export function createWebGpuRuntime (options: WebGpuRuntimeOptions): WebGpuRuntime {
  const { gpu } = options
  const slots = options.slots ?? 1
  if (!Number.isInteger(slots) || slots < 1) throw new Error('slots must be a whole number ≥ 1')
  const semaphore = new Semaphore(slots)
  const running = new Settling<TaskRunOutcome>()
  let closed = false

  /** Checks the task against its limits before any GPU work, and builds the GPU process's request. */
  async function prepare (request: TaskRunRequest): Promise<GpuRun & { bufferBytes: number }> {
    const inputSizes = new Map(await Promise.all(request.inputs.map(async input => [input.name, (await stat(input.path)).size] as const)))
    const paths = new Map(request.inputs.map(input => [input.name, input.path]))
    const { plan, params, inputFiles, bufferBytes } = checkGpuTask(request.args, (await stat(request.modulePath)).size, inputSizes, request.limits)
    const wgsl = await readFile(request.modulePath, 'utf8')
    const inputs = Object.fromEntries([...inputFiles].map(([buffer, file]) => [buffer, paths.get(file)!]))
    return { kind: 'run', wgsl, plan, params, inputs, bufferBytes }
  }

  async function runTask (request: TaskRunRequest, started: number): Promise<TaskRunOutcome> {
    let bufferBytes = 0
    const failed = (reason: TaskFailureReason, message: string): TaskRunOutcome =>
      ({ status: 'failed', reason, message, stdout: empty, stderr: empty, usage: { wallMs: Date.now() - started, memoryBytes: bufferBytes } })
    try {
      const { bufferBytes: bytes, ...run } = await prepare(request)
      bufferBytes = bytes
      const result = await spawnGpuProcess(run, options.gpu.env, request.limits.timeoutMs - (Date.now() - started), request.signal)
      switch (result.kind) {
        case 'timeout': return failed('timeout', `timed out after ${request.limits.timeoutMs} ms (the GPU process was killed)`)
        case 'cancelled': return failed('cancelled', 'cancelled')
        case 'died': return failed('internal', result.message)
      }
      const { reply } = result
      if (reply.kind === 'failed') return failed(reply.reason, reply.message)
      if (reply.kind !== 'done') return failed('internal', `unexpected answer ${reply.kind} from the GPU process`)
      return { status: 'exit', exitCode: 0, stdout: empty, stderr: empty, files: reply.files, usage: { wallMs: Date.now() - started, memoryBytes: bufferBytes } }
    } catch (err) {
      if (err instanceof TaskFailure) return failed(err.reason, err.message)
      return failed('internal', messageOf(err))
    }
  }

  return {
    name: 'webgpu',
    slots,
    gpu: gpu.info,
    async run (request) {
      if (closed) throw new Error('the WebGPU runtime is closed')
      checkRequest(request)
      return running.track((async () => {
        try {
          await semaphore.acquire(request.signal)
        } catch {
          return { status: 'failed', reason: 'cancelled', message: 'cancelled before it started', stdout: empty, stderr: empty, usage: { wallMs: 0, memoryBytes: 0 } }
        }
        try {
          return await runTask(request, Date.now())
        } finally {
          semaphore.release()
        }
      })())
    },
    async close () {
      closed = true
      await running.all()
    },
  }
}
