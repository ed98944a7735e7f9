/**
 * GPU work on the grid: C = A × B for n × n f32 matrices, C's rows split into blocks, one WebGPU task
 * each (a 16×16-tiled WGSL kernel) reading its rows of A and all of B. The baseline and reference is
 * the same product on one CPU core in JavaScript; the grid's must be within 1e-3 of it everywhere.
 * Providers offer `webgpu` on their GPU, or on SwiftShader (emulated on the CPU) where there is none.
 *
 *   node examples/gpu-matmul/gpuMatmul.ts [--n 512] [--tasks 4] [--providers 1]
 *
 * Prints a summary and, last, one JSON line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { fileBytes, runJob, summaryLine, tasksPerProvider, waitForOffers } from '../grid.ts'
import { cpuMatmul, MATMUL_WGSL, matmulPlan, randomMatrix, TILE, wrongElements } from './matrices.ts'
import { intFlag } from '../flags.ts'

export interface GpuMatmulReport {
  readonly n: number
  readonly tasks: number
  readonly providers: Map<string, number>
  readonly wrong: number
  readonly gridSeconds: number
  readonly baselineSeconds: number
}

export async function runGpuMatmul (options: { n: number, tasks: number, providers: number }): Promise<GpuMatmulReport> {
  const { n, tasks, providers } = options
  const rows = n / tasks
  if (!Number.isInteger(rows) || rows % TILE !== 0) throw new RangeError(`n / tasks must be a whole multiple of ${TILE}`)
  const a = randomMatrix(n, n, 1)
  const b = randomMatrix(n, n, 2)
  const started = performance.now()
  const expected = cpuMatmul(a, b, n)
  const baselineSeconds = (performance.now() - started) / 1000

  const dir = await mkdtemp(join(tmpdir(), 'conun-gpu-matmul-'))
  const grid = await startLocalGrid({ providers: 0, coresPerProvider: 1 })
  try {
    await writeFile(join(dir, 'b.bin'), new Uint8Array(b.buffer))
    for (let i = 0; i < tasks; i++) await writeFile(join(dir, `a${i}.bin`), new Uint8Array(a.buffer, i * rows * n * 4, rows * n * 4))
    await Promise.all(Array.from({ length: providers }, () => grid.addProvider({ flags: ['--runtimes', 'webgpu', '--software-gpu'] })))
    const client = grid.requester.client
    await waitForOffers(client, providers)
    const job = await runJob(client, {
      name: 'gpu-matmul',
      runtime: 'webgpu',
      module: MATMUL_WGSL,
      gpu: matmulPlan(n, rows),
      inputs: { 'b.bin': join(dir, 'b.bin') },
      tasks: Array.from({ length: tasks }, (_, i) => ({ args: [String(n)], inputs: { 'a.bin': join(dir, `a${i}.bin`) } })),
      limits: { memoryMb: Math.ceil(3 * n * n * 4 / 2 ** 20) + 1, timeoutMs: 600_000 },
    })
    const c = new Float32Array(n * n)
    for (const task of job.tasks) c.set(new Float32Array((await fileBytes(client, task, 'c.bin')).slice().buffer), task.idx * rows * n)
    return { n, tasks, providers: tasksPerProvider(job.tasks), wrong: wrongElements(c, expected), gridSeconds: job.seconds, baselineSeconds }
  } finally {
    await grid.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '512' }, tasks: { type: 'string', default: '4' }, providers: { type: 'string', default: '1' } } })
  const started = Date.now()
  const report = await runGpuMatmul({ n: intFlag(values, 'n'), tasks: intFlag(values, 'tasks'), providers: intFlag(values, 'providers') })
  console.log([
    `${report.n}×${report.n} f32 matmul on the grid: ${report.tasks} webgpu tasks, ${report.wrong} elements outside 1e-3 of the CPU's`,
    ...[...report.providers].map(([peer, count]) => `  provider …${peer.slice(-8)}: ${count} tasks`),
    `grid: ${report.gridSeconds.toFixed(2)} s; one CPU core: ${report.baselineSeconds.toFixed(2)} s`,
  ].join('\n'))
  console.log(summaryLine({ name: 'gpu-matmul', category: 'science', verified: report.wrong === 0, wallS: (Date.now() - started) / 1000, baselineS: report.baselineSeconds, tasks: report.tasks, providers: report.providers.size, gridS: report.gridSeconds }))
  if (report.wrong !== 0) process.exitCode = 1
}
