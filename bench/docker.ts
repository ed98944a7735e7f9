// `npm run bench:docker`: what a container costs per task, beside the WASI sandbox in the same run.
// Both runtimes run a trivial task (Docker: busybox `echo`; WASI: the primes example over [0, 10)),
// first one at a time (start-to-exit latency), then with one task per core (throughput).
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBusyboxImage } from '../scripts/build-busybox-image.ts'
import { buildExamples } from '../scripts/build-examples.ts'
import { createDockerRuntime, createWasiRuntime } from '../src/runtime/index.ts'
import type { Runtime, TaskRunRequest } from '../src/runtime/index.ts'

const quick = process.argv.includes('--quick')
const SEQUENTIAL = quick ? 10 : 30
const PARALLEL = quick ? 40 : 120
const slots = availableParallelism()
const limits = { memoryBytes: 64 * 1024 * 1024, timeoutMs: 30_000, outputBytes: 1024 * 1024 }

const [image, examples] = await Promise.all([buildBusyboxImage(), buildExamples({ log: () => {} })])
const primes = examples.find(path => path.endsWith('primes.wasm'))!
const scratch = await mkdtemp(join(tmpdir(), 'conun-bench-docker-'))
const runtimes: Array<{ runtime: Runtime, task: TaskRunRequest }> = [
  { runtime: await createDockerRuntime({ slots, workDir: join(scratch, 'docker') }), task: { moduleCid: 'bench-busybox', modulePath: image, args: ['echo', '4'], env: {}, inputs: [], limits } },
  { runtime: createWasiRuntime({ slots, workDir: join(scratch, 'wasi') }), task: { moduleCid: 'bench-primes', modulePath: primes, args: ['--from', '0', '--to', '10'], env: {}, inputs: [], limits } },
]

console.log(`conun docker benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`)
const rows: Array<{ name: string, median: number, p90: number, throughput: number }> = []
try {
  for (const { runtime, task } of runtimes) {
    const run = async () => {
      const outcome = await runtime.run(task)
      if (outcome.status !== 'exit' || outcome.exitCode !== 0) throw new Error(`${runtime.name} task did not succeed: ${outcome.status === 'failed' ? outcome.message : outcome.exitCode}`)
    }
    await run() // warm-up: loads the image, compiles the module
    const latencies: number[] = []
    for (let i = 0; i < SEQUENTIAL; i++) {
      const started = performance.now()
      await run()
      latencies.push(performance.now() - started)
    }
    latencies.sort((a, b) => a - b)
    const started = performance.now()
    await Promise.all(Array.from({ length: PARALLEL }, run))
    const throughput = PARALLEL / ((performance.now() - started) / 1000)
    const median = latencies[Math.floor(latencies.length / 2)]!
    const p90 = latencies[Math.floor(latencies.length * 0.9)]!
    rows.push({ name: runtime.name, median, p90, throughput })
    console.log(`  ${runtime.name}: start-to-exit median ${median.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms; ${PARALLEL} tasks on ${slots} slots: ${throughput.toFixed(1)} tasks/s`)
  }
} finally {
  await Promise.all(runtimes.map(({ runtime }) => runtime.close()))
  await rm(scratch, { recursive: true, force: true })
}

const [docker, wasi] = rows
console.log('\n| runtime | trivial task, start to exit (median) | p90 | short-task throughput |')
console.log('|---|---|---|---|')
for (const row of rows) console.log(`| ${row.name} | ${row.median.toFixed(1)} ms | ${row.p90.toFixed(1)} ms | ${row.throughput.toFixed(1)} tasks/s |`)
console.log(`\nA container costs ${(docker!.median - wasi!.median).toFixed(1)} ms more per task than WASI (${(docker!.median / wasi!.median).toFixed(0)}×); ` +
  `WASI runs ${(wasi!.throughput / docker!.throughput).toFixed(0)}× more short tasks per second.`)
