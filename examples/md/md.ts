/**
 * Life science on the grid, as GPUGRID and Folding@home spread molecular dynamics: many
 * independent short trajectories of a Lennard-Jones fluid, one seed per task. The requester merges
 * the ensemble and checks it: each trajectory's NVE energy drift within a stated bound, and the
 * ensemble's pressure and potential energy against the Johnson–Zollweg–Gubbins (1993) equation of
 * state within its statistical error. The same trajectories run in one process (conun's WASI
 * runtime, no grid) as the baseline, and each must come back from the grid bit for bit the same.
 *
 *   node examples/md/md.ts [--providers 2] [--cores 2] [--trajectories 16] [--particles 256]
 *                          [--density 0.8] [--temperature 2] [--cutoff 2.5] [--dt 0.005]
 *                          [--equilibration 1000] [--production 8000] [--seed 1] [--replication 1]
 *
 * Prints tables (steps per second per provider, for the grid and for one process; the ensemble
 * against the equation of state) and, last, one JSON line.
 */
import { parseArgs } from 'node:util'
import { join } from 'node:path'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { EXAMPLES_BUILD_DIR } from '../../scripts/build-examples.ts'
import { exampleRunner } from '../runExample.ts'
import { outputText, runJob, waitForOffers } from '../grid.ts'
import { checkEnsemble, parseTiming, parseTrajectories } from './ensemble.ts'
import { formatEnsemble, formatSpeed } from './report.ts'
import type { EnsembleCheck, Trajectory } from './ensemble.ts'
import { intFlag, positiveFlag } from '../flags.ts'

const MODULE = 'ljmd'
const MODULE_PATH = join(EXAMPLES_BUILD_DIR, `${MODULE}.wasm`)
const TIMEOUT_MS = 600_000

export interface MdOptions {
  readonly providers?: number
  readonly coresPerProvider?: number
  /** Trajectories in the ensemble: one task each, seeds `seed` … `seed + trajectories − 1`. */
  readonly trajectories?: number
  /** 4k³: 32, 108, 256, 500, 864, 1372 or 2048. */
  readonly particles?: number
  readonly density?: number
  /** The thermostat's target during equilibration. */
  readonly temperature?: number
  readonly cutoff?: number
  readonly dt?: number
  readonly equilibration?: number
  readonly production?: number
  readonly seed?: number
  /** Replicas per task; with 2 or more the grid accepts a trajectory only when replicas agree byte for byte. */
  readonly replication?: number
  /** Systematic allowances and drift bound (defaults: ensemble.ts's, stated there). */
  readonly allowance?: { readonly pressure: number, readonly potentialEnergy: number }
  readonly driftBound?: number
  readonly log?: (line: string) => void
}

export interface ProviderRow {
  readonly peerId: string
  readonly tasks: number
  readonly steps: number
  /** Simulation time summed over its tasks (measured inside the module). */
  readonly seconds: number
}

export interface MdReport {
  readonly particles: number
  readonly density: number
  readonly temperature: number
  readonly cutoff: number
  readonly dt: number
  readonly equilibration: number
  readonly production: number
  readonly replication: number
  /** Providers in the grid (with replication, the table names only the provider of each task's accepted result). */
  readonly gridProviders: number
  readonly trajectories: Trajectory[]
  /** Time steps over the ensemble (equilibration and production). */
  readonly steps: number
  readonly providers: ProviderRow[]
  /** The job's wall time, submit to last result. */
  readonly gridSeconds: number
  /** The single process's simulation time for the whole ensemble. */
  readonly singleSeconds: number
  /** Seeds whose output from the grid differs from the single process's. */
  readonly mismatches: number[]
  readonly check: EnsembleCheck
  readonly verified: boolean
}

/** Runs the example: the single-process baseline, the ensemble on a local grid, and the checks. */
export async function runMd (options: MdOptions = {}): Promise<MdReport> {
  const {
    providers: providerCount = 2, coresPerProvider = 2, trajectories: count = 16, particles = 256, density = 0.8, temperature = 2,
    cutoff = 2.5, dt = 0.005, equilibration = 1000, production = 8000, seed = 1, replication = 1,
  } = options
  const log = options.log ?? (() => {})
  const common = ['--particles', particles, '--density', density, '--temperature', temperature, '--cutoff', cutoff, '--dt', dt,
    '--equilibration', equilibration, '--production', production].map(String)

  const runner = await exampleRunner(MODULE)
  let single: { lines: string[], seconds: number }
  try {
    const run = await runner.run([...common, '--seed', String(seed), '--trajectories', String(count)], { timeoutMs: TIMEOUT_MS })
    if (run.exitCode !== 0) throw new Error(`the single-process run failed: ${run.stderr}`)
    single = { lines: Buffer.from(run.stdout).toString('utf8').split('\n').filter(Boolean), seconds: parseTiming(run.stderr, 'single process').seconds }
  } finally {
    await runner.close()
  }
  log(`single process: ${count} trajectories in ${single.seconds.toFixed(2)} s`)

  const grid = await startLocalGrid({ providers: providerCount, coresPerProvider })
  try {
    const client = grid.requester.client
    await waitForOffers(client, providerCount)
    const tasks = Array.from({ length: count }, (_, k) => ({ args: [...common, '--seed', String(seed + k)] }))
    const job = await runJob(client, { name: 'md-ensemble', runtime: 'wasi', module: MODULE_PATH, tasks, replication, limits: { timeoutMs: TIMEOUT_MS } })
    log(`grid: ${count} tasks in ${job.seconds.toFixed(2)} s`)

    const perProvider = new Map<string, { tasks: number, steps: number, seconds: number }>()
    const lines: string[] = []
    const trajectories: Trajectory[] = []
    for (const task of job.tasks) {
      const stdout = await outputText(client, task, 'stdout')
      if (task.exitCode !== 0) throw new Error(`task ${task.idx} exited ${task.exitCode}: ${(await outputText(client, task, 'stderr')).trim()}`)
      trajectories.push(...parseTrajectories(stdout, `task ${task.idx}`))
      lines[task.idx] = stdout.trimEnd()
      const timing = parseTiming(await outputText(client, task, 'stderr'), `task ${task.idx}`)
      const row = perProvider.get(task.provider!) ?? { tasks: 0, steps: 0, seconds: 0 }
      perProvider.set(task.provider!, { tasks: row.tasks + 1, steps: row.steps + timing.steps, seconds: row.seconds + timing.seconds })
    }
    const mismatches = Array.from({ length: count }, (_, k) => k).filter(k => lines[k] !== single.lines[k]).map(k => seed + k)
    const check = checkEnsemble(trajectories, options.allowance, options.driftBound)
    return {
      particles,
      density,
      temperature,
      cutoff,
      dt,
      equilibration,
      production,
      replication,
      gridProviders: providerCount,
      trajectories,
      steps: count * (equilibration + production),
      providers: [...perProvider].map(([peerId, row]) => ({ peerId, ...row })),
      gridSeconds: job.seconds,
      singleSeconds: single.seconds,
      mismatches,
      check,
      verified: check.passed && mismatches.length === 0 && trajectories.length === count && single.lines.length === count,
    }
  } finally {
    await grid.stop()
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      providers: { type: 'string', default: '2' },
      cores: { type: 'string', default: '2' },
      trajectories: { type: 'string', default: '16' },
      particles: { type: 'string', default: '256' },
      density: { type: 'string', default: '0.8' },
      temperature: { type: 'string', default: '2' },
      cutoff: { type: 'string', default: '2.5' },
      dt: { type: 'string', default: '0.005' },
      equilibration: { type: 'string', default: '1000' },
      production: { type: 'string', default: '8000' },
      seed: { type: 'string', default: '1' },
      replication: { type: 'string', default: '1' },
    },
  })
  const started = Date.now()
  const report = await runMd({
    providers: intFlag(values, 'providers'),
    coresPerProvider: intFlag(values, 'cores'),
    trajectories: intFlag(values, 'trajectories', 2),
    particles: intFlag(values, 'particles'),
    density: positiveFlag(values, 'density'),
    temperature: positiveFlag(values, 'temperature'),
    cutoff: positiveFlag(values, 'cutoff'),
    dt: positiveFlag(values, 'dt'),
    equilibration: intFlag(values, 'equilibration', 0),
    production: intFlag(values, 'production', 2),
    seed: intFlag(values, 'seed', 0),
    replication: intFlag(values, 'replication'),
    log: line => console.error(line),
  })
  console.log(formatSpeed(report))
  console.log('')
  console.log(formatEnsemble(report))
  console.log(JSON.stringify({ examples: [{ name: 'md', category: 'life science', verified: report.verified, wallS: (Date.now() - started) / 1000, baselineS: report.singleSeconds }] }))
  if (!report.verified) process.exitCode = 1
}
