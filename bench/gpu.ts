// `npm run bench:gpu [-- --n 512] [--repeat 4]`: a 16×16-tiled f32 matmul on the webgpu runtime, beside
// a plain JavaScript matmul on one CPU core in the same run. The kernel's own rate comes from running
// the pass 1 and 1 + repeat times in one task (the difference is kernel time only); end to end counts
// the whole task: the GPU process, the device, moving the matrices in and the result out.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createWebGpuRuntime, detectGpu } from '../src/runtime/index.ts'
import type { GpuPlan, TaskRunRequest } from '../src/runtime/index.ts'

const TILE = 16
const TILED_MATMUL = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<uniform> params: vec4<u32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
var<workgroup> tileA: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> tileB: array<array<f32, ${TILE}>, ${TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn matmul(@builtin(global_invocation_id) id: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let n = params.x;
  var sum = 0.0;
  for (var t = 0u; t < n; t += ${TILE}u) {
    tileA[local.y][local.x] = a[id.y * n + t + local.x];
    tileB[local.y][local.x] = b[(t + local.y) * n + id.x];
    workgroupBarrier();
    for (var k = 0u; k < ${TILE}u; k++) { sum += tileA[local.y][k] * tileB[k][local.x]; }
    workgroupBarrier();
  }
  c[id.y * n + id.x] = sum;
}
`

const { values } = parseArgs({ options: { n: { type: 'string', default: '512' }, repeat: { type: 'string', default: '4' } } })
const n = Number(values.n)
const repeat = Number(values.repeat)
if (!Number.isInteger(n) || n < TILE || n % TILE !== 0) throw new Error(`--n must be a multiple of ${TILE}`)
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 63) throw new Error('--repeat must be 1 … 63')

const gpu = await detectGpu()
if (gpu === null) {
  console.error('no WebGPU adapter here, not even SwiftShader (apt-get install libvulkan1 chromium)')
  process.exit(1)
}
const adapter = [gpu.info.vendor, gpu.info.architecture, gpu.info.device].filter(part => part !== '').join(' ') || gpu.info.description
console.log(`conun GPU benchmark — ${new Date().toISOString().slice(0, 10)}, adapter ${adapter}, CPU ${cpus()[0]?.model.trim()}, Node ${process.version}, n = ${n}`)

// Values in [-1, 1): sums stay small, so a correct result is within a tight relative bound.
let seed = 1
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 30 - 1
const a = Float32Array.from({ length: n * n }, random)
const b = Float32Array.from({ length: n * n }, random)

function cpuMatmul (): Float32Array {
  const c = new Float32Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!
      for (let j = 0; j < n; j++) c[i * n + j]! += aik * b[k * n + j]!
    }
  }
  return c
}

const flops = 2 * n ** 3
const scratch = await mkdtemp(join(tmpdir(), 'conun-bench-gpu-'))
const runtime = createWebGpuRuntime({ gpu })
try {
  await writeFile(join(scratch, 'matmul.wgsl'), TILED_MATMUL)
  await writeFile(join(scratch, 'a.bin'), new Uint8Array(a.buffer))
  await writeFile(join(scratch, 'b.bin'), new Uint8Array(b.buffer))
  const task = (passes: number): TaskRunRequest => {
    const plan: GpuPlan = {
      buffers: [
        { name: 'a', binding: 0, input: 'a.bin' },
        { name: 'b', binding: 1, input: 'b.bin' },
        { name: 'params', binding: 2, params: 'u32' },
        { name: 'c', binding: 3, output: 'c.bin', size: n * n * 4 },
      ],
      passes: Array.from({ length: passes }, () => ({ entry: 'matmul', dispatch: [n / TILE, n / TILE] })),
    }
    return {
      moduleCid: 'bench-matmul',
      modulePath: join(scratch, 'matmul.wgsl'),
      args: [JSON.stringify(plan), String(n)],
      env: {},
      inputs: [{ name: 'a.bin', path: join(scratch, 'a.bin') }, { name: 'b.bin', path: join(scratch, 'b.bin') }],
      limits: { memoryBytes: 4 * n * n * 4, timeoutMs: 600_000, outputBytes: n * n * 4 },
    }
  }
  const timed = async (passes: number) => {
    const started = performance.now()
    const outcome = await runtime.run(task(passes))
    if (outcome.status !== 'exit') throw new Error(`the GPU task failed: ${outcome.reason}: ${outcome.message}`)
    return { ms: performance.now() - started, bytes: outcome.files[0]!.bytes }
  }
  const once = await timed(1)
  const many = await timed(1 + repeat)
  const kernelMs = Math.max((many.ms - once.ms) / repeat, Number.EPSILON)

  const cpuStarted = performance.now()
  const expected = cpuMatmul()
  const cpuMs = performance.now() - cpuStarted

  const c = new Float32Array(once.bytes.slice().buffer)
  let wrong = 0
  for (let i = 0; i < n * n; i++) if (Math.abs(c[i]! - expected[i]!) > 1e-3 * Math.max(1, Math.abs(expected[i]!))) wrong++

  const gflops = (ms: number) => flops / ms / 1e6
  const result = { adapter, n, gflopsKernel: gflops(kernelMs), gflopsEndToEnd: gflops(once.ms), cpuGflops: gflops(cpuMs), wrong }
  console.log('\n| what | time | GFLOP/s |')
  console.log('|---|---|---|')
  console.log(`| webgpu kernel (tiled ${TILE}×${TILE}) | ${kernelMs.toFixed(1)} ms | ${result.gflopsKernel.toFixed(2)} |`)
  console.log(`| webgpu task end to end | ${once.ms.toFixed(1)} ms | ${result.gflopsEndToEnd.toFixed(2)} |`)
  console.log(`| CPU, JavaScript, one core | ${cpuMs.toFixed(1)} ms | ${result.cpuGflops.toFixed(2)} |`)
  console.log(`\n${wrong} of ${n * n} elements outside 1e-3 relative of the CPU's result.`)
  console.log(JSON.stringify(result))
} finally {
  await runtime.close()
  await rm(scratch, { recursive: true, force: true })
}
