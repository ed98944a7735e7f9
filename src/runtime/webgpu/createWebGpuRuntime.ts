/**
 * The WebGPU runtime: WGSL compute kernels on the provider's GPU through Dawn, each task in a GPU
 * process of its own (see gpuProcess.ts) with a wall clock, a cap on its buffers' bytes (the task's
 * memory) and on its outputs' bytes. A task sees nothing but its buffers: /in files it names, its
 * params and its outputs, which become files in /out.
 */
import { readFile, stat } from 'node:fs/promises'
import { Semaphore } from '../../util/index.ts'
import { checkRequest } from '../wasi/checkRequest.ts'
import { Settling } from '../settling.ts'
import { parseGpuPlan, paramsBytes } from './gpuPlan.ts'
import { spawnGpuProcess } from './spawnGpuProcess.ts'
import type { Runtime, TaskFailureReason, TaskRunOutcome, TaskRunRequest } from '../types.ts'
import type { DetectedGpu } from './detectGpu.ts'
import type { GpuPlan } from './gpuPlan.ts'
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

/** WGSL source is text; anything this large is not a kernel. */
const MAX_WGSL_BYTES = 1024 * 1024

class Refusal extends Error {
  readonly reason: TaskFailureReason
  constructor (reason: TaskFailureReason, message: string) {
    super(message)
    this.reason = reason
  }
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
    const [planJson, ...params] = request.args
    if (planJson === undefined) throw new Refusal('invalid-module', 'a webgpu task needs its plan (buffers and passes) as its first argument')
    const parsed = parseGpuPlan(planJson)
    if (!parsed.ok) throw new Refusal('invalid-module', `invalid plan:\n${parsed.problems.join('\n')}`)
    const plan: GpuPlan = parsed.plan
    for (const pass of plan.passes) {
      if (pass.dispatch.some(count => count === '{i}')) throw new Refusal('invalid-module', `pass ${pass.entry}: "{i}" was not filled in with the task's index`)
    }
    const wgslSize = (await stat(request.modulePath)).size
    if (wgslSize > MAX_WGSL_BYTES) throw new Refusal('invalid-module', `the WGSL module is ${wgslSize} bytes; at most ${MAX_WGSL_BYTES}`)
    const wgsl = await readFile(request.modulePath, 'utf8')

    const files = new Map(request.inputs.map(input => [input.name, input.path]))
    const inputs: Record<string, string> = {}
    let bufferBytes = 0
    let outputBytes = 0
    let paramBytes: Uint8Array | null = null
    for (const buffer of plan.buffers) {
      if ('input' in buffer) {
        const path = files.get(buffer.input)
        if (path === undefined) throw new Refusal('invalid-module', `buffer ${buffer.name} reads /in/${buffer.input}, which the task does not have`)
        inputs[buffer.name] = path
        bufferBytes += Math.ceil((await stat(path)).size / 4) * 4
      } else if ('params' in buffer) {
        const bytes = paramsBytes(buffer.params, params)
        if (typeof bytes === 'string') throw new Refusal('invalid-module', `params buffer ${buffer.name}: ${bytes}`)
        paramBytes = bytes
        bufferBytes += bytes.byteLength
      } else {
        bufferBytes += buffer.size
        if ('output' in buffer) outputBytes += buffer.size
      }
    }
    if (bufferBytes > request.limits.memoryBytes) throw new Refusal('memory-limit', `the buffers need ${bufferBytes} bytes; the task may use ${request.limits.memoryBytes}`)
    if (outputBytes > request.limits.outputBytes) throw new Refusal('output-limit', `the outputs are ${outputBytes} bytes; the task may write ${request.limits.outputBytes}`)
    return { kind: 'run', wgsl, plan, params: paramBytes, inputs, bufferBytes }
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
      if (err instanceof Refusal) return failed(err.reason, err.message)
      return failed('internal', err instanceof Error ? err.message : String(err))
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
