/**
 * One `webgpu` task on a WebGPU adapter: the plan checked against the adapter's limits, the buffers
 * made and filled, the passes dispatched in order, the outputs read back. Only the WebGPU API is used,
 * so the same code runs in a node's GPU process (Dawn) and in a browser tab's worker (`navigator.gpu`).
 *
 * Results are the output buffers' bytes as the device left them. Integer kernels are deterministic
 * everywhere; float results can differ in the last bits between GPUs and drivers (fused multiply-add,
 * reassociated sums), so replicas of float kernels agree only on the same kind of device.
 */
// The WebGPU constants (GPUBufferUsage …), which TypeScript's DOM library leaves out.
/// <reference types="@webgpu/types" />
import { TaskFailure } from '../wasi/errors.ts'
import { dispatchOf } from './gpuPlan.ts'
import type { GpuBuffer, GpuPlan } from './gpuPlan.ts'
import type { GpuInfo } from './protocol.ts'

export interface GpuTask {
  readonly wgsl: string
  readonly plan: GpuPlan
  /** The params buffer's bytes, when the plan has one. */
  readonly params: Uint8Array | null
  /** Input buffer name → its file's bytes. */
  readonly inputs: ReadonlyMap<string, Uint8Array>
}

/** What a provider advertises about its adapter. */
export function describeAdapter (adapter: GPUAdapter): GpuInfo {
  const { info, limits } = adapter
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    maxBufferBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize),
    maxWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
  }
}

const padded = (bytes: number) => Math.max(4, Math.ceil(bytes / 4) * 4)

/** Runs the task on a device of its own, destroyed when it ends; a failure the task causes is a TaskFailure. */
export async function runGpuPlan (adapter: GPUAdapter, task: GpuTask): Promise<Array<{ path: string, bytes: Uint8Array }>> {
  const gpu = describeAdapter(adapter)
  const { plan } = task
  const sizeOf = (buffer: GpuBuffer) =>
    'input' in buffer ? padded(task.inputs.get(buffer.name)!.byteLength) : 'params' in buffer ? task.params!.byteLength : buffer.size
  for (const buffer of plan.buffers) {
    if (sizeOf(buffer) > gpu.maxBufferBytes) throw new TaskFailure('memory-limit', `buffer ${buffer.name} (${sizeOf(buffer)} bytes) is larger than this GPU's ${gpu.maxBufferBytes}-byte binding limit`)
  }
  for (const pass of plan.passes) {
    const counts = dispatchOf(pass.dispatch)
    if (counts.some(n => n > gpu.maxWorkgroupsPerDimension)) throw new TaskFailure('invalid-module', `pass ${pass.entry} dispatches ${counts.join('×')} workgroups; this GPU allows ${gpu.maxWorkgroupsPerDimension} per dimension`)
  }

  const device = await adapter.requestDevice({
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  })
  // Not on a timeout: the caller abandons a device whose shader never ends (destroying it waits for it).
  try {
    return await runOnDevice(device, task, sizeOf)
  } finally {
    device.destroy()
  }
}

async function runOnDevice (device: GPUDevice, task: GpuTask, sizeOf: (buffer: GpuBuffer) => number): Promise<Array<{ path: string, bytes: Uint8Array }>> {
  const { plan } = task
  device.pushErrorScope('validation')
  const module = device.createShaderModule({ code: task.wgsl })
  const errors = (await module.getCompilationInfo()).messages.filter(message => message.type === 'error')
  if (errors.length > 0) {
    throw new TaskFailure('invalid-module', `WGSL does not compile:\n${errors.map(error => `${error.lineNum}:${error.linePos}: ${error.message}`).join('\n')}`)
  }
  const layout = device.createBindGroupLayout({
    entries: plan.buffers.map(buffer => ({
      binding: buffer.binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: 'input' in buffer ? 'read-only-storage' : 'params' in buffer ? 'uniform' : 'storage' },
    })),
  })
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] })
  const pipelines = plan.passes.map(pass => device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: pass.entry } }))
  const invalid = await device.popErrorScope()
  if (invalid !== null) throw new TaskFailure('invalid-module', `the plan does not fit the module: ${invalid.message}`)

  device.pushErrorScope('out-of-memory')
  const buffers = new Map(plan.buffers.map(buffer => {
    const usage = 'input' in buffer ? GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST
      : 'params' in buffer ? GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST
        : GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC
    return [buffer.name, device.createBuffer({ size: sizeOf(buffer), usage })]
  }))
  const outputs = plan.buffers.filter(buffer => 'output' in buffer)
  const staging = new Map(outputs.map(buffer => [buffer.name, device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })]))
  const outOfMemory = await device.popErrorScope()
  if (outOfMemory !== null) throw new TaskFailure('memory-limit', `the GPU could not hold the buffers: ${outOfMemory.message}`)

  for (const buffer of plan.buffers) {
    if ('input' in buffer) {
      const bytes = task.inputs.get(buffer.name)!
      const whole = new Uint8Array(padded(bytes.byteLength))
      whole.set(bytes)
      device.queue.writeBuffer(buffers.get(buffer.name)!, 0, whole)
    } else if ('params' in buffer) {
      device.queue.writeBuffer(buffers.get(buffer.name)!, 0, task.params! as Uint8Array<ArrayBuffer>)
    }
  }
  const group = device.createBindGroup({
    layout,
    entries: plan.buffers.map(buffer => ({ binding: buffer.binding, resource: { buffer: buffers.get(buffer.name)! } })),
  })
  const encoder = device.createCommandEncoder()
  for (const [index, pass] of plan.passes.entries()) {
    const compute = encoder.beginComputePass()
    compute.setPipeline(pipelines[index]!)
    compute.setBindGroup(0, group)
    compute.dispatchWorkgroups(...dispatchOf(pass.dispatch))
    compute.end()
  }
  for (const buffer of outputs) encoder.copyBufferToBuffer(buffers.get(buffer.name)!, 0, staging.get(buffer.name)!, 0, buffer.size)
  device.queue.submit([encoder.finish()])

  const files = []
  for (const buffer of outputs) {
    const target = staging.get(buffer.name)!
    await target.mapAsync(GPUMapMode.READ)
    files.push({ path: buffer.output, bytes: new Uint8Array(target.getMappedRange().slice(0)) })
    target.unmap()
  }
  return files
}
