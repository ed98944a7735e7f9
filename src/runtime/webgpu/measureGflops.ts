/**
 * The GPU's speed score, measured at the provider's start (a node's GPU process, a tab's GPU worker): GFLOP/s of the tiled
 * f32 matmul kernel (matmul.wgsl), the same one the example and `bench:gpu` run. The size grows
 * until one pass takes MIN_PASS_MS, then enough passes run back to back to fill MEASURE_MS, timed
 * from submission to the queue's completion: about a second on SwiftShader, a fraction on a GPU.
 */
import { MATMUL_TILE } from './matmulKernel.ts'

const START_N = 64
/** 3 × 64 MiB of matrices: within every adapter's default binding limit (128 MiB). */
const MAX_N = 4096
const MIN_PASS_MS = 50
const MEASURE_MS = 200
const MAX_PASSES = 64

/** `wgsl` is matmul.wgsl's text (read from disk in a node, bundled in a page). */
export async function measureGflops (adapter: GPUAdapter, wgsl: string): Promise<number> {
  const device = await adapter.requestDevice()
  try {
    const module = device.createShaderModule({ code: wgsl })
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'matmul' } })
    // The first dispatch also compiles the kernel (lazily, on some drivers): it is not timed.
    await timePasses(device, pipeline, START_N, 1)
    let n = START_N
    let ms = await timePasses(device, pipeline, n, 1)
    while (ms < MIN_PASS_MS && n < MAX_N) {
      n *= 2
      ms = await timePasses(device, pipeline, n, 1)
    }
    const passes = Math.min(MAX_PASSES, Math.max(1, Math.ceil(MEASURE_MS / ms)))
    const total = await timePasses(device, pipeline, n, passes)
    return (2 * n ** 3 * passes) / (total / 1000) / 1e9
  } finally {
    device.destroy()
  }
}

/** Milliseconds for `passes` n × n matmuls, from submission until the GPU reports them done. */
async function timePasses (device: GPUDevice, pipeline: GPUComputePipeline, n: number, passes: number): Promise<number> {
  const matrix = () => device.createBuffer({ size: n * n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST })
  const [a, b, c] = [matrix(), matrix(), matrix()]
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST })
  device.queue.writeBuffer(a, 0, new Float32Array(n * n).fill(0.5))
  device.queue.writeBuffer(b, 0, new Float32Array(n * n).fill(0.25))
  device.queue.writeBuffer(params, 0, Uint32Array.of(n, 0, 0, 0))
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [a, b, params, c].map((buffer, binding) => ({ binding, resource: { buffer } })),
  })
  await device.queue.onSubmittedWorkDone()
  const encoder = device.createCommandEncoder()
  for (let pass = 0; pass < passes; pass++) {
    const compute = encoder.beginComputePass()
    compute.setPipeline(pipeline)
    compute.setBindGroup(0, group)
    compute.dispatchWorkgroups(n / MATMUL_TILE, n / MATMUL_TILE)
    compute.end()
  }
  const started = performance.now()
  device.queue.submit([encoder.finish()])
  await device.queue.onSubmittedWorkDone()
  const ms = performance.now() - started
  for (const buffer of [a, b, c, params]) buffer.destroy()
  return Math.max(ms, 0.001)
}
