/**
 * The GPU process: Dawn (npm `webgpu`) runs one probe or one task here, never in the node itself, so
 * that a driver crash or a shader that never ends costs only this process — the runtime kills it at
 * the deadline and the next task gets a fresh device.
 *
 * Results are the output buffers' bytes as the device left them. Integer kernels are deterministic
 * everywhere; float results can differ in the last bits between GPUs and drivers (fused multiply-add,
 * reassociated sums), so replicas of float kernels agree only on the same kind of device.
 */
import { readFile } from 'node:fs/promises'
import { create, globals } from 'webgpu'
import { dispatchOf } from './gpuPlan.ts'
import { measureGflops } from './measureGflops.ts'
import type { GpuBuffer } from './gpuPlan.ts'
import type { GpuInfo, GpuReply, GpuRequest, GpuRun } from './protocol.ts'

Object.assign(globalThis, globals)
/**
 * Held for the process's life: Dawn's event polling keeps using the instance, and once V8 collected
 * an unreferenced one, a task that ran longer than a moment crashed the process.
 */
const instance = create([])

class Failure extends Error {
  readonly reason: 'invalid-module' | 'memory-limit' | 'internal'
  constructor (reason: 'invalid-module' | 'memory-limit' | 'internal', message: string) {
    super(message)
    this.reason = reason
  }
}

function describe (adapter: GPUAdapter): GpuInfo {
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

async function run (request: GpuRun, adapter: GPUAdapter): Promise<GpuReply> {
  const gpu = describe(adapter)
  const { plan } = request
  const inputs = new Map<string, Uint8Array>()
  for (const buffer of plan.buffers) {
    if ('input' in buffer) inputs.set(buffer.name, await readFile(request.inputs[buffer.name]!))
  }
  const sizeOf = (buffer: GpuBuffer) =>
    'input' in buffer ? padded(inputs.get(buffer.name)!.byteLength) : 'params' in buffer ? request.params!.byteLength : buffer.size
  for (const buffer of plan.buffers) {
    if (sizeOf(buffer) > gpu.maxBufferBytes) throw new Failure('memory-limit', `buffer ${buffer.name} (${sizeOf(buffer)} bytes) is larger than this GPU's ${gpu.maxBufferBytes}-byte binding limit`)
  }
  for (const pass of plan.passes) {
    const counts = dispatchOf(pass.dispatch)
    if (counts.some(n => n > gpu.maxWorkgroupsPerDimension)) throw new Failure('invalid-module', `pass ${pass.entry} dispatches ${counts.join('×')} workgroups; this GPU allows ${gpu.maxWorkgroupsPerDimension} per dimension`)
  }

  const device = await adapter.requestDevice({
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  })
  device.pushErrorScope('validation')
  const module = device.createShaderModule({ code: request.wgsl })
  const errors = (await module.getCompilationInfo()).messages.filter(message => message.type === 'error')
  if (errors.length > 0) {
    throw new Failure('invalid-module', `WGSL does not compile:\n${errors.map(error => `${error.lineNum}:${error.linePos}: ${error.message}`).join('\n')}`)
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
  if (invalid !== null) throw new Failure('invalid-module', `the plan does not fit the module: ${invalid.message}`)

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
  if (outOfMemory !== null) throw new Failure('memory-limit', `the GPU could not hold the buffers: ${outOfMemory.message}`)

  for (const buffer of plan.buffers) {
    if ('input' in buffer) {
      const bytes = inputs.get(buffer.name)!
      const whole = new Uint8Array(padded(bytes.byteLength))
      whole.set(bytes)
      device.queue.writeBuffer(buffers.get(buffer.name)!, 0, whole)
    } else if ('params' in buffer) {
      device.queue.writeBuffer(buffers.get(buffer.name)!, 0, request.params!)
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
  device.destroy()
  return { kind: 'done', files }
}

async function handle (request: GpuRequest): Promise<GpuReply> {
  const adapter = await instance.requestAdapter()
  if (request.kind === 'probe') return { kind: 'probe', gpu: adapter === null ? null : describe(adapter) }
  if (adapter === null) return { kind: 'failed', reason: 'internal', message: 'no GPU adapter' }
  try {
    if (request.kind === 'measure') return { kind: 'measure', gflops: await measureGflops(adapter) }
    return await run(request, adapter)
  } catch (err) {
    if (err instanceof Failure) return { kind: 'failed', reason: err.reason, message: err.message }
    return { kind: 'failed', reason: 'internal', message: err instanceof Error ? err.message : String(err) }
  }
}

process.once('message', (request: GpuRequest) => {
  void handle(request).then(reply => {
    // Dawn's threads would keep the process alive; it has done its one job.
    process.send!(reply, () => process.exit(0))
  })
})
