// `npm run bench:scale [-- --quick] [-- --sizes N,M] [-- --task-ms N]`: how conun holds up as jobs grow, and what a
// provider costs the machine it runs on (issue 16), all of it in one run by default. One grid of a
// requester and 2 providers of one core each, every node its own OS process on loopback:
// - provider: RSS and CPU over 60 s idle in the grid, and peak RSS while running trivial WASI tasks;
// - requester: trivial-task jobs of 1,000 / 10,000 / 50,000 / 1,000,000 tasks (--quick: 1,000 and
//   10,000): tasks/s, peak RSS, CPU per task, SQLite bytes per task, submit time and the slowest
//   job-status answer while the job ran; `--sizes 10000,100000` runs those job sizes instead.
// - many providers (`--providers N`, default 500, off with --quick or `--providers 0`): N provider
//   nodes, 100 to an OS process (bench/providerHosts.ts), on one requester: how many connect, the
//   requester's idle CPU and RSS per provider, the providers' idle CPU and gossip messages received
//   (over 150 s: a provider announces its offer every 2.5 minutes at idle), and a job of 100 tasks
//   per provider (50,000 at 500) whose tasks each sleep 2 s (`--task-ms N`: N ms; 0: trivial
//   tasks). A real grid's tasks take seconds on machines of their own; on one machine, trivial
//   tasks keep its cores so busy that a job ends before 500 providers have answered its agreements.
// `--providers-only` skips the rest. `--hold N` measures only a job of N tasks held by a requester
// with no providers (bench/heldJob.ts): submit time, RSS growth, SQLite per task, job status.
// Otherwise it prints a table, writes out/scale.png, and prints the JSON line
// of issue 16 last (null: not measured by this run), with the run's length in `durationS`.
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { buildExamples } from '../scripts/build-examples.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { encodePng } from '../src/util/index.ts'
import { timeJob, withGrid } from './harness.ts'
import { linePlot } from './linePlot.ts'
import { measureHeldJob } from './heldJob.ts'
import { measureManyProviders } from './manyProviders.ts'
import { cpuMs, fileBytes, peakRssDuring, rssMb } from './processStats.ts'

const startedAt = performance.now()
const durationS = () => Math.round((performance.now() - startedAt) / 1000)
const argv = process.argv.slice(2)
const args = new Set(argv)
const quick = args.has('--quick')
const providersFlag = argv.indexOf('--providers')
const MANY_PROVIDERS = providersFlag === -1 ? (quick ? 0 : 500) : Number(argv[providersFlag + 1])
if (!Number.isInteger(MANY_PROVIDERS) || MANY_PROVIDERS < 0) throw new Error('--providers takes a whole number of providers')
const taskMsFlag = argv.indexOf('--task-ms')
const TASK_MS = taskMsFlag === -1 ? 2000 : Number(argv[taskMsFlag + 1])
if (!Number.isInteger(TASK_MS) || TASK_MS < 0) throw new Error('--task-ms takes a whole number of milliseconds that each task of the many-providers job sleeps')
/** Provider nodes per provider-host process: what fits one Node heap and event loop comfortably. */
const PROVIDERS_PER_PROCESS = 100
const TASKS_PER_PROVIDER = 100
const sizesFlag = argv.indexOf('--sizes')
const SIZES = sizesFlag === -1 ? undefined : String(argv[sizesFlag + 1]).split(',').map(Number)
if (SIZES !== undefined && !SIZES.every(size => Number.isInteger(size) && size > 0)) throw new Error('--sizes takes job sizes separated by commas, e.g. --sizes 10000,100000')
const JOB_SIZES = SIZES ?? (quick ? [1_000, 10_000] : [1_000, 10_000, 50_000, 1_000_000])
const IDLE_SECONDS = quick ? 20 : 60
/** After the grid is up, before the idle measurement: the first DHT and gossip rounds are start-up, not idling. */
const SETTLE_SECONDS = 10
const PROVIDERS = 2

const primesWasm = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
const trivialJob = (count: number) => ({ runtime: 'wasi', module: primesWasm, range: { count, args: ['--from', '0', '--to', '10'] } })
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

console.log(`conun scale benchmark — ${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`)

interface JobRow { tasks: number, tasksPerSecond: number, requesterPeakRssMb: number, requesterCpuMsPerTask: number, dbBytesPerTask: number, providerPeakRssMb: number, submitMs: number, slowestStatusMs: number }

const holdFlag = argv.indexOf('--hold')
if (holdFlag !== -1) {
  const tasks = Number(argv[holdFlag + 1])
  if (!Number.isInteger(tasks) || tasks < 1) throw new Error('--hold takes a number of tasks, e.g. --hold 1000000')
  console.log(`\n[hold] a job of ${tasks} tasks on a requester with no providers`)
  const held = await measureHeldJob(tasks, primesWasm)
  console.log(`  submit ${held.submitMs.toFixed(0)} ms; requester RSS ${held.requesterRssBeforeMb.toFixed(0)} MB + ${held.requesterRssGrowthMb.toFixed(0)} MB with the job held; SQLite ${held.dbBytesPerTask.toFixed(0)} B per task; slowest of 20 job-status answers ${held.slowestStatusMs.toFixed(1)} ms; cancel ${held.cancelMs.toFixed(0)} ms`)
  console.log(JSON.stringify({ held: { ...held, submitMs: Math.round(held.submitMs), requesterRssBeforeMb: Math.round(held.requesterRssBeforeMb), requesterRssGrowthMb: Math.round(held.requesterRssGrowthMb), dbBytesPerTask: Math.round(held.dbBytesPerTask), slowestStatusMs: Number(held.slowestStatusMs.toFixed(1)), cancelMs: Math.round(held.cancelMs) } }))
  process.exit(0)
}

const many = MANY_PROVIDERS === 0
  ? undefined
  : await (async () => {
    console.log(`\n[0] ${MANY_PROVIDERS} providers, ${PROVIDERS_PER_PROCESS} to a process, on one requester`)
    const task = TASK_MS === 0 ? { module: primesWasm, args: ['--from', '0', '--to', '10'] } : { module: await buildWasiFixture('sleep'), args: [String(TASK_MS)] }
    console.log(`  tasks: ${TASK_MS === 0 ? 'trivial (primes below 10)' : `each sleeps ${TASK_MS} ms`}`)
    return measureManyProviders(MANY_PROVIDERS, { processes: Math.ceil(MANY_PROVIDERS / PROVIDERS_PER_PROCESS), tasks: MANY_PROVIDERS * TASKS_PER_PROVIDER, idleSeconds: 150, task })
  })()
if (args.has('--providers-only')) {
  console.log(JSON.stringify({ providers: manyProvidersJson(), durationS: durationS() }))
  process.exit(0)
}

const { idle, jobs } = await withGrid(PROVIDERS, 1, async (client, grid) => {
  const providerPids = grid.providers.map(provider => provider.process.pid!)
  const requesterPid = grid.requester.process.pid!
  const db = [join(grid.requester.dataDir, 'conun.db'), join(grid.requester.dataDir, 'conun.db-wal')]

  console.log(`\n[1] idle: ${SETTLE_SECONDS} s to settle, then ${IDLE_SECONDS} s with nothing to do`)
  await sleep(SETTLE_SECONDS * 1000)
  const idleFrom = providerPids.map(cpuMs)
  const requesterIdleFrom = cpuMs(requesterPid)
  await sleep(IDLE_SECONDS * 1000)
  const idle = {
    providerCpuPercent: providerPids.map((pid, i) => (cpuMs(pid) - idleFrom[i]!) / (IDLE_SECONDS * 10)),
    requesterCpuPercent: (cpuMs(requesterPid) - requesterIdleFrom) / (IDLE_SECONDS * 10),
    providerRssMb: providerPids.map(rssMb),
    requesterRssMb: rssMb(requesterPid),
  }
  console.log(`  providers: ${idle.providerCpuPercent.map(p => p.toFixed(2) + ' % CPU').join(', ')}; ${idle.providerRssMb.map(mb => mb.toFixed(0) + ' MB').join(', ')}`)
  console.log(`  requester: ${idle.requesterCpuPercent.toFixed(2)} % CPU, ${idle.requesterRssMb.toFixed(0)} MB`)

  console.log('\n[2] trivial-task jobs (a warm-up of 200 first)')
  await timeJob(client, trivialJob(200))
  const jobs: JobRow[] = []
  for (const tasks of JOB_SIZES) {
    const dbBefore = fileBytes(...db)
    const cpuBefore = cpuMs(requesterPid)
    const { result: { wallMs, submitMs, slowestStatusMs }, peakMb } = await peakRssDuring([requesterPid, ...providerPids], async () => timeJob(client, trivialJob(tasks)))
    const row = {
      tasks,
      tasksPerSecond: tasks / (wallMs / 1000),
      requesterPeakRssMb: peakMb[0]!,
      requesterCpuMsPerTask: (cpuMs(requesterPid) - cpuBefore) / tasks,
      dbBytesPerTask: (fileBytes(...db) - dbBefore) / tasks,
      providerPeakRssMb: Math.max(...peakMb.slice(1)),
      submitMs,
      slowestStatusMs,
    }
    jobs.push(row)
    console.log(`  ${tasks} tasks: ${row.tasksPerSecond.toFixed(0)} tasks/s, requester ${row.requesterPeakRssMb.toFixed(0)} MB peak, providers ${peakMb.slice(1).map(mb => mb.toFixed(0)).join(' / ')} MB peak, submit ${submitMs.toFixed(0)} ms, slowest status ${slowestStatusMs.toFixed(1)} ms`)
  }
  return { idle, jobs }
})

console.log('\n| job size | tasks/s | requester peak RSS | requester CPU / task | requester SQLite / task | provider peak RSS | submit | slowest status |\n|---:|---:|---:|---:|---:|---:|---:|---:|')
for (const row of jobs) {
  console.log(`| ${row.tasks.toLocaleString('en')} | ${row.tasksPerSecond.toFixed(0)} | ${row.requesterPeakRssMb.toFixed(0)} MB | ${row.requesterCpuMsPerTask.toFixed(2)} ms | ${(row.dbBytesPerTask / 1024).toFixed(2)} KB | ${row.providerPeakRssMb.toFixed(0)} MB | ${row.submitMs.toFixed(0)} ms | ${row.slowestStatusMs.toFixed(1)} ms |`)
}
console.log(`\nIdle ${IDLE_SECONDS} s: providers ${idle.providerCpuPercent.map(p => p.toFixed(2)).join(' / ')} % CPU at ${idle.providerRssMb.map(mb => mb.toFixed(0)).join(' / ')} MB; requester ${idle.requesterCpuPercent.toFixed(2)} % CPU at ${idle.requesterRssMb.toFixed(0)} MB`)

const xOf = (tasks: number) => Math.log10(tasks)
const picture = linePlot([
  {
    title: 'peak RSS, MB',
    series: [
      { label: 'requester', color: [31, 119, 180], points: jobs.map(row => [xOf(row.tasks), row.requesterPeakRssMb]) },
      { label: 'provider', color: [230, 120, 20], points: jobs.map(row => [xOf(row.tasks), row.providerPeakRssMb]) },
    ],
  },
  { title: 'tasks/s, 2 providers', series: [{ label: 'tasks/s', color: [40, 150, 60], points: jobs.map(row => [xOf(row.tasks), row.tasksPerSecond]) }] },
], { xTicks: jobs.map(row => ({ x: xOf(row.tasks), label: row.tasks >= 1_000_000 ? `${row.tasks / 1_000_000}M` : `${row.tasks / 1000}K` })) })
await mkdir('out', { recursive: true })
await writeFile('out/scale.png', encodePng(picture.width, picture.height, picture.rgb))
console.log('wrote out/scale.png')
console.log(`the whole run took ${(durationS() / 60).toFixed(1)} minutes`)

const million = jobs.find(row => row.tasks === 1_000_000)
const tenThousand = jobs.find(row => row.tasks === 10_000)
const round = (value: number, digits = 1) => Number(value.toFixed(digits))
console.log(JSON.stringify({
  million: {
    tasks: million?.tasks ?? null,
    tasksPerSecond: million === undefined ? null : round(million.tasksPerSecond, 0),
    requesterPeakRssMb: million === undefined ? null : round(million.requesterPeakRssMb, 0),
    rss10kMb: tenThousand === undefined ? null : round(tenThousand.requesterPeakRssMb, 0),
    dbBytesPerTask: million === undefined ? null : round(million.dbBytesPerTask, 0),
  },
  providers: manyProvidersJson(),
  provider: {
    peakRssMb: round(Math.max(...jobs.map(row => row.providerPeakRssMb)), 0),
    idleCpuPercent: round(Math.max(...idle.providerCpuPercent), 2),
  },
  durationS: durationS(),
  jobs: jobs.map(row => ({ ...row, tasksPerSecond: round(row.tasksPerSecond, 0), requesterPeakRssMb: round(row.requesterPeakRssMb, 0), requesterCpuMsPerTask: round(row.requesterCpuMsPerTask, 3), dbBytesPerTask: round(row.dbBytesPerTask, 0), providerPeakRssMb: round(row.providerPeakRssMb, 0), submitMs: round(row.submitMs, 0), slowestStatusMs: round(row.slowestStatusMs, 1) })),
}))

function manyProvidersJson () {
  if (many === undefined) return { count: null, connected: null, used: null, requesterCpuMsPerTask: null }
  return {
    count: many.count,
    connected: many.connected,
    used: many.used,
    requesterCpuMsPerTask: Number(many.requesterCpuMsPerTask.toFixed(3)),
    processes: many.processes,
    tasks: many.tasks,
    tasksPerSecond: Math.round(many.tasksPerSecond),
    idleRequesterCpuPercent: Number(many.idleRequesterCpuPercent.toFixed(2)),
    idleProviderCpuPercent: Number(many.idleProviderCpuPercent.toFixed(3)),
    idleGossipPerProviderPerSecond: Number(many.idleGossipPerProviderPerSecond.toFixed(2)),
    requesterRssMbPerProvider: Number(many.requesterRssMbPerProvider.toFixed(2)),
    startSeconds: Math.round(many.startSeconds),
  }
}
