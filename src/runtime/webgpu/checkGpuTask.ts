/**
 * A `webgpu` task checked against its limits before any GPU work: its plan parsed, its params built,
 * its buffers counted against the memory cap and its outputs against the output cap. Shared by the
 * node runtime and the browser tab's, so that both refuse the same tasks with the same reasons.
 */
import { TaskFailure } from '../wasi/errors.ts'
import { paramsBytes, parseGpuPlan } from './gpuPlan.ts'
import type { TaskLimits } from '../types.ts'
import type { GpuPlan } from './gpuPlan.ts'

/** WGSL source is text; anything this large is not a kernel. */
export const MAX_WGSL_BYTES = 1024 * 1024

export interface CheckedGpuTask {
  readonly plan: GpuPlan
  /** The params buffer's bytes, when the plan has one. */
  readonly params: Uint8Array | null
  /** Input buffer name → the /in file it reads. */
  readonly inputFiles: ReadonlyMap<string, string>
  /** What the buffers take in all: the task's memory. */
  readonly bufferBytes: number
}

/** `inputSizes`: the task's /in files and their sizes in bytes. Throws a TaskFailure for what the task cannot have. */
export function checkGpuTask (args: readonly string[], wgslBytes: number, inputSizes: ReadonlyMap<string, number>, limits: TaskLimits): CheckedGpuTask {
  const [planJson, ...params] = args
  if (planJson === undefined) throw new TaskFailure('invalid-module', 'a webgpu task needs its plan (buffers and passes) as its first argument')
  const parsed = parseGpuPlan(planJson)
  if (!parsed.ok) throw new TaskFailure('invalid-module', `invalid plan:\n${parsed.problems.join('\n')}`)
  const { plan } = parsed
  for (const pass of plan.passes) {
    if (pass.dispatch.some(count => count === '{i}')) throw new TaskFailure('invalid-module', `pass ${pass.entry}: "{i}" was not filled in with the task's index`)
  }
  if (wgslBytes > MAX_WGSL_BYTES) throw new TaskFailure('invalid-module', `the WGSL module is ${wgslBytes} bytes; at most ${MAX_WGSL_BYTES}`)

  const inputFiles = new Map<string, string>()
  let bufferBytes = 0
  let outputBytes = 0
  let paramBytes: Uint8Array | null = null
  for (const buffer of plan.buffers) {
    if ('input' in buffer) {
      const size = inputSizes.get(buffer.input)
      if (size === undefined) throw new TaskFailure('invalid-module', `buffer ${buffer.name} reads /in/${buffer.input}, which the task does not have`)
      inputFiles.set(buffer.name, buffer.input)
      bufferBytes += Math.ceil(size / 4) * 4
    } else if ('params' in buffer) {
      const bytes = paramsBytes(buffer.params, params)
      if (typeof bytes === 'string') throw new TaskFailure('invalid-module', `params buffer ${buffer.name}: ${bytes}`)
      paramBytes = bytes
      bufferBytes += bytes.byteLength
    } else {
      bufferBytes += buffer.size
      if ('output' in buffer) outputBytes += buffer.size
    }
  }
  if (bufferBytes > limits.memoryBytes) throw new TaskFailure('memory-limit', `the buffers need ${bufferBytes} bytes; the task may use ${limits.memoryBytes}`)
  if (outputBytes > limits.outputBytes) throw new TaskFailure('output-limit', `the outputs are ${outputBytes} bytes; the task may write ${limits.outputBytes}`)
  return { plan, params: paramBytes, inputFiles, bufferBytes }
}
