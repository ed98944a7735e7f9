// `npm run bench:gpu [-- --n 512] [--repeat 4]`: a 16×16-tiled f32 matmul on the webgpu runtime, beside
// a plain JavaScript matmul on one CPU core in the same run. The kernel's own rate comes from running
// the pass 1 and 1 + repeat times in one task (the difference is kernel time only); end to end counts
// the whole task: the GPU process, the device, moving the matrices in and the result out.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { cpuMatmul, MATMUL_WGSL, matmulPlan, randomMatrix, TILE, wrongElements } from '../examples/gpu-matmul/matrices.ts'
import { createWebGpuRuntime, detectGpu } from '../src/runtime/index.ts'
import type { TaskRunRequest } from '../src/runtime/index.ts'

const { values } = parseArgs({ options: { n: { type: 'string', default: '512' }, repeat: { type: 'string', default: '4' } } })
const n = Number(values.n)
const repeat = Number(values.repeat)
if (!Number.isInteger(n) || n < TILE || n % TILE !== 0) throw new Error(`--n must be a multiple of ${TILE}`)
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 63) throw new Error('--repeat must be 1 … 63')

const gpu = await detectGpu({ measure: true })
if (gpu === null) {
  console.error('no WebGPU adapter here, not even SwiftShader (apt-get install libvulkan1 chromium)')
  process.exit(1)
}
const adapter = [gpu.info.vendor, gpu.info.architecture, gpu.info.device].filter(part => part !== '').join(' ') || gpu.info.description
console.log(`conun GPU benchmark — ${new Date().toISOString().slice(0, 10)}, adapter ${adapter}, CPU ${cpus()[0]?.model.trim()}, Node ${process.version}, n = ${n}`)

const a = randomMatrix(n, n, 1)
const b = randomMatrix(n, n, 2)

const flops = 2 * n ** 3
const scratch = await mkdtemp(join(tmpdir(), 'conun-bench-gpu-'))
const runtime = createWebGpuRuntime({ gpu })
try {
  await writeFile(join(scratch, 'a.bin'), new Uint8Array(a.buffer))
  await writeFile(join(scratch, 'b.bin'), new Uint8Array(b.buffer))
  const task = (passes: number): TaskRunRequest => {
    const plan = matmulPlan(n, n, passes)
    return {
      moduleCid: 'bench-matmul',
      modulePath: MATMUL_WGSL,
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
  const expected = cpuMatmul(a, b, n)
  const cpuMs = performance.now() - cpuStarted

  const wrong = wrongElements(new Float32Array(once.bytes.slice().buffer), expected)

  const gflops = (ms: number) => flops / ms / 1e6
  const result = { adapter, n, gflopsKernel: gflops(kernelMs), gflopsEndToEnd: gflops(once.ms), cpuGflops: gflops(cpuMs), wrong }
  console.log('\n| what | time | GFLOP/s |')
  console.log('|---|---|---|')
  console.log(`| webgpu kernel (tiled ${TILE}×${TILE}) | ${kernelMs.toFixed(1)} ms | ${result.gflopsKernel.toFixed(2)} |`)
  console.log(`| webgpu task end to end | ${once.ms.toFixed(1)} ms | ${result.gflopsEndToEnd.toFixed(2)} |`)
  console.log(`| CPU, JavaScript, one core | ${cpuMs.toFixed(1)} ms | ${result.cpuGflops.toFixed(2)} |`)
  console.log(`| the provider's start measurement (offer gpu.gflops) | | ${gpu.info.gflops?.toFixed(2) ?? 'failed'} |`)
  console.log(`\n${wrong} of ${n * n} elements outside 1e-3 relative of the CPU's result.`)
  console.log(JSON.stringify(result))
} finally {
  await runtime.close()
  await rm(scratch, { recursive: true, force: true })
}
