/**
 * `npm run examples`: runs every example's driver, one after another, each on its own local grid
 * (a child process), and prints per example its tasks, providers, wall time, baseline time and
 * whether its output matched its reference; last, one JSON line
 * `{ "examples": [ { "name", "category", "verified", "wallS", "baselineS", "tasks"?, "providers"?, "gridS"? } ] }`.
 *
 *   npm run examples [-- --small] [-- --only primes,animation]
 *
 * An example joins by one line in EXAMPLES: a driver whose last stdout line is that JSON (see
 * examples/grid.ts, summaryLine), with the arguments for a run of a few minutes here and for a
 * small one (`--small`, what the tests run).
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { buildExamples } from '../scripts/build-examples.ts'
import type { ExampleCategory, ExampleSummary } from './grid.ts'

export interface ExampleEntry {
  readonly name: string
  readonly category: ExampleCategory
  /** Relative to examples/. */
  readonly driver: string
  readonly args: readonly string[]
  readonly smallArgs: readonly string[]
}

const ROOT = join(import.meta.dirname, '..')

export const EXAMPLES: readonly ExampleEntry[] = [
  { name: 'primes', category: 'science', driver: 'primes/countPrimes.ts', args: ['--limit', '10000000000', '--tasks', '100'], smallArgs: ['--limit', '1000000', '--tasks', '4', '--cores', '1'] },
  { name: 'mandelbrot', category: 'cgi', driver: 'mandelbrot/mandelbrot.ts', args: ['--width', '3840', '--height', '2880', '--tile-size', '160', '--max-iter', '5000'], smallArgs: ['--width', '160', '--height', '120', '--tile-size', '40', '--max-iter', '200', '--cores', '1'] },
  { name: 'animation', category: 'cgi', driver: 'animation/animation.ts', args: ['--width', '640', '--height', '360', '--tile-size', '120', '--frames', '48', '--samples', '3'], smallArgs: ['--width', '64', '--height', '48', '--tile-size', '32', '--frames', '3', '--samples', '1', '--cores', '1'] },
  { name: 'seqsearch', category: 'life science', driver: 'seqsearch/seqsearch.ts', args: ['--all-vs-all', '--shards', '8', '--query-batches', '4'], smallArgs: ['--shards', '2', '--water-queries', '2', '--cores', '1'] },
  { name: 'md', category: 'life science', driver: 'md/md.ts', args: [], smallArgs: ['--trajectories', '4', '--equilibration', '500', '--production', '1500', '--cores', '1'] },
  // Full size reads Debian's linux-source-6.12 (apt-get install linux-source-6.12); small, this repository's own text.
  { name: 'mapreduce', category: 'big data', driver: 'mapreduce/mapreduce.ts', args: ['--max-mb', '512'], smallArgs: ['--partitions', '3', '--cores', '1', join(ROOT, 'README.md'), ...['raven', 'tyger', 'ozymandias'].map(poem => join(ROOT, 'examples', 'docker-wordcount', 'texts', `${poem}.txt`))] },
  // WGSL on the providers' GPUs through WebGPU (Dawn; SwiftShader on CPU-only machines, with --software-gpu).
  { name: 'gpu-matmul', category: 'science', driver: 'gpu-matmul/gpuMatmul.ts', args: ['--n', '512', '--tasks', '4'], smallArgs: ['--n', '64', '--tasks', '2'] },
  { name: 'gpu-mandelbrot', category: 'cgi', driver: 'gpu-mandelbrot/gpuMandelbrot.ts', args: ['--width', '1280', '--height', '960', '--tile-size', '160', '--max-iter', '1000'], smallArgs: ['--width', '160', '--height', '120', '--tile-size', '40', '--max-iter', '200'] },
  // Data-parallel training of an MNIST MLP; checked bit for bit against the same training in one process.
  { name: 'train', category: 'deep learning', driver: 'train/train.ts', args: [], smallArgs: ['--rounds', '2', '--hidden', '32', '--steps', '20', '--train-samples', '1600', '--test-samples', '400'] },
]

/** What a driver's last line must hold: at least one summary; tasks, providers and gridS are optional. */
const driverLine = z.object({
  examples: z.array(z.object({
    name: z.string(),
    category: z.string(),
    verified: z.boolean(),
    wallS: z.number(),
    baselineS: z.number(),
    tasks: z.number().int().nonnegative().optional(),
    providers: z.number().int().nonnegative().optional(),
    gridS: z.number().optional(),
  })).min(1),
})

/** One example's outcome; a driver that failed or printed no summary is unverified, its baseline unknown. */
export interface ExampleResult extends Omit<ExampleSummary, 'baselineS' | 'category'> {
  readonly category: string
  readonly baselineS: number | null
  /** The driver process, start to exit. */
  readonly processS: number
  readonly error?: string
}

/** Runs one driver as a child process; its output goes to `log` line by line as it comes. */
export async function runExample (entry: ExampleEntry, options: { small?: boolean, log?: (line: string) => void } = {}): Promise<ExampleResult[]> {
  const log = options.log ?? (() => {})
  const args = options.small === true ? entry.smallArgs : entry.args
  const started = performance.now()
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, entry.driver), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const stdout: string[] = []
  const relay = (stream: NodeJS.ReadableStream, keep: boolean) => {
    let pending = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        if (keep) stdout.push(line)
        log(`[${entry.name}] ${line}`)
      }
    })
    stream.on('end', () => {
      if (pending === '') return
      if (keep) stdout.push(pending)
      log(`[${entry.name}] ${pending}`)
    })
  }
  relay(child.stdout, true)
  relay(child.stderr, false)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  const processS = (performance.now() - started) / 1000
  const last = stdout.filter(line => line.trim() !== '').at(-1) ?? ''
  let parsed: z.infer<typeof driverLine> | undefined
  try {
    parsed = driverLine.parse(JSON.parse(last))
  } catch {
    parsed = undefined
  }
  if (parsed === undefined) {
    return [{ name: entry.name, category: entry.category, verified: false, wallS: processS, baselineS: null, processS, error: `the driver exited ${code} without a summary line` }]
  }
  // A driver that exits with an error is not verified, whatever its line says.
  return parsed.examples.map(summary => ({ ...summary, verified: summary.verified && code === 0, processS }))
}

function seconds (value: number | null): string {
  return value === null ? '—' : `${value.toFixed(1)} s`
}

export function formatResults (results: readonly ExampleResult[]): string {
  const rows = results.map(r => `| ${r.name} | ${r.category} | ${r.tasks ?? '—'} | ${r.providers ?? '—'} | ${seconds(r.gridS ?? null)} | ${seconds(r.baselineS)} | ${seconds(r.wallS)} | ${r.verified ? 'yes' : `NO${r.error === undefined ? '' : ` (${r.error})`}`} |`)
  return [
    '| example | category | tasks | providers | grid (jobs) | baseline (1 process) | wall (whole run) | matches its reference |',
    '| --- | --- | --: | --: | --: | --: | --: | --- |',
    ...rows,
  ].join('\n')
}

/** The closing line: only the fields the format promises, plus tasks, providers and gridS where known. */
export function resultsLine (results: readonly ExampleResult[]): string {
  return JSON.stringify({
    examples: results.map(({ name, category, verified, wallS, baselineS, tasks, providers, gridS }) => ({ name, category, verified, wallS, baselineS, tasks, providers, gridS })),
  })
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { small: { type: 'boolean', default: false }, only: { type: 'string' } } })
  const only = values.only?.split(',').map(name => name.trim())
  const unknown = only?.filter(name => !EXAMPLES.some(entry => entry.name === name)) ?? []
  if (unknown.length > 0) {
    console.error(`examples: no example called ${unknown.join(', ')}; there are ${EXAMPLES.map(entry => entry.name).join(', ')}`)
    process.exit(2)
  }
  // Build once up front rather than in every driver at the same moment.
  await buildExamples({ log: line => console.error(line) })
  const results: ExampleResult[] = []
  for (const entry of EXAMPLES.filter(entry => only === undefined || only.includes(entry.name))) {
    console.error(`— ${entry.name} (${entry.category}): node examples/${entry.driver} ${(values.small ? entry.smallArgs : entry.args).join(' ')}`)
    results.push(...await runExample(entry, { small: values.small, log: line => console.error(line) }))
  }
  console.log(formatResults(results))
  console.log(resultsLine(results))
  if (results.some(result => !result.verified)) process.exitCode = 1
}
