/**
 * Science on the grid: counts the primes below a bound, [0, limit) split into contiguous ranges,
 * one task each, summed by the requester. The single-process baseline is the same module counting
 * the whole range here; the reference is the published π(10^k) (OEIS A006880) when the limit is a
 * power of ten, else an independent TypeScript sieve.
 *
 *   node examples/primes/countPrimes.ts [--limit 10000000000] [--tasks 100] [--providers 2] [--cores 2]
 *
 * Prints a summary and, last, one JSON line.
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { EXAMPLES_BUILD_DIR } from '../../scripts/build-examples.ts'
import { exampleRunner } from '../runExample.ts'
import { outputText, runJob, summaryLine, tasksPerProvider, waitForOffers } from '../grid.ts'
import { countPrimesJs, primeRanges, primeTaskArgs, reducePrimeCounts } from './primes.ts'
import { intFlag } from '../flags.ts'

const MODULE_PATH = join(EXAMPLES_BUILD_DIR, 'primes.wasm')
/** π(10^k) for k = 0..12, as published (OEIS A006880). */
const PI_OF_POWERS_OF_TEN = [0, 4, 25, 168, 1229, 9592, 78498, 664579, 5761455, 50847534, 455052511, 4118054813, 37607912018]

export interface PrimesOptions {
  readonly limit?: number
  readonly tasks?: number
  readonly providers?: number
  readonly coresPerProvider?: number
  readonly log?: (line: string) => void
}

export interface PrimesReport {
  readonly limit: number
  readonly count: number
  readonly reference: number
  readonly referenceSource: string
  readonly tasks: number
  readonly providers: Map<string, number>
  readonly gridSeconds: number
  readonly baselineSeconds: number
  readonly verified: boolean
}

/** The count the grid's must equal, and where it comes from. */
function referenceCount (limit: number): { count: number, source: string } {
  const k = PI_OF_POWERS_OF_TEN.findIndex((_, power) => 10 ** power === limit)
  return k >= 0 ? { count: PI_OF_POWERS_OF_TEN[k]!, source: `published π(10^${k})` } : { count: countPrimesJs(0, limit), source: 'a TypeScript sieve' }
}

export async function runPrimes (options: PrimesOptions = {}): Promise<PrimesReport> {
  const { limit = 1e10, tasks: taskCount = 100, providers: providerCount = 2, coresPerProvider = 2 } = options
  const log = options.log ?? (() => {})
  const runner = await exampleRunner('primes')
  let baselineSeconds: number
  let single: number
  try {
    const started = performance.now()
    const result = await runner.run(primeTaskArgs({ from: 0, to: limit }), { timeoutMs: 3_600_000 })
    if (result.exitCode !== 0) throw new Error(`the single-process count failed: ${result.stderr}`)
    single = reducePrimeCounts([Buffer.from(result.stdout).toString('utf8')])
    baselineSeconds = (performance.now() - started) / 1000
    log(`single process: π(${limit}) = ${single} in ${baselineSeconds.toFixed(2)} s`)
  } finally {
    await runner.close()
  }
  const reference = referenceCount(limit)
  const grid = await startLocalGrid({ providers: providerCount, coresPerProvider })
  try {
    const client = grid.requester.client
    await waitForOffers(client, providerCount)
    const tasks = primeRanges(limit, taskCount).map(range => ({ args: primeTaskArgs(range) }))
    const job = await runJob(client, { name: 'primes', runtime: 'wasi', module: MODULE_PATH, tasks, limits: { memoryMb: 64, timeoutMs: 600_000 } })
    const count = reducePrimeCounts(await Promise.all(job.tasks.map(task => outputText(client, task, 'stdout'))))
    return {
      limit,
      count,
      reference: reference.count,
      referenceSource: reference.source,
      tasks: job.tasks.length,
      providers: tasksPerProvider(job.tasks),
      gridSeconds: job.seconds,
      baselineSeconds,
      verified: count === reference.count && single === reference.count,
    }
  } finally {
    await grid.stop()
  }
}

export function formatPrimesReport (report: PrimesReport): string {
  return [
    `π(${report.limit}) on the grid: ${report.count} from ${report.tasks} tasks (${report.referenceSource}: ${report.reference})`,
    ...[...report.providers].map(([peer, tasks]) => `  provider …${peer.slice(-8)}: ${tasks} tasks`),
    `grid: ${report.gridSeconds.toFixed(2)} s; single process: ${report.baselineSeconds.toFixed(2)} s`,
  ].join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      limit: { type: 'string', default: '10000000000' },
      tasks: { type: 'string', default: '100' },
      providers: { type: 'string', default: '2' },
      cores: { type: 'string', default: '2' },
    },
  })
  const started = Date.now()
  const report = await runPrimes({ limit: intFlag(values, 'limit'), tasks: intFlag(values, 'tasks'), providers: intFlag(values, 'providers'), coresPerProvider: intFlag(values, 'cores'), log: line => console.error(line) })
  console.log(formatPrimesReport(report))
  console.log(summaryLine({ name: 'primes', category: 'science', verified: report.verified, wallS: (Date.now() - started) / 1000, baselineS: report.baselineSeconds, tasks: report.tasks, providers: report.providers.size, gridS: report.gridSeconds }))
  if (!report.verified) process.exitCode = 1
}
