// `npm start`: the conun demo. Starts a grid on loopback (one requester/bootstrap node and three
// providers, each its own OS process), renders a Mandelbrot image tile by tile across the providers,
// counts primes with a reduce step on the grid (both on the Task API, src/sdk), pays the providers through the escrow on a local dev chain,
// prints a summary with token balances before and after, and shuts everything down.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { assembleTiles } from '../examples/mandelbrot/tiles.ts'
import { formatBytes, Progress, shortId } from '../src/cli/index.ts'
import { startLocalGrid } from '../src/devnet/index.ts'
import { formatCon } from '../src/ledger/index.ts'
import { isSettled } from '../src/requester/index.ts'
import { encodePng } from '../src/util/index.ts'
import { buildExamples } from './build-examples.ts'
import type { GridNode } from '../src/devnet/index.ts'
import { map, mapReduce } from '../src/sdk/index.ts'
import type { ConunClient, JobOptions, TaskInput, TaskProgress } from '../src/sdk/index.ts'

const ROOT = resolve(import.meta.dirname, '..')
const { values } = parseArgs({ options: { json: { type: 'boolean' }, providers: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
if (values.help === true) {
  console.log('Usage: npm start [-- --json] [-- --providers N]\n\nRuns the conun demo on a local grid; --json ends with the summary as one JSON line.')
  process.exit(0)
}
const providerCount = Number(values.providers ?? 3)
if (!Number.isInteger(providerCount) || providerCount < 1 || providerCount > 16) {
  console.error('--providers must be a whole number from 1 to 16')
  process.exit(2)
}
const say = (line: string) => console.log(line)

/**
 * Progress of one step of the demo on the terminal. The Task API reports each job it submits (a
 * map, then each level of a reduce); each gets a line and its own progress bar.
 */
class JobRun {
  readonly jobIds: string[] = []
  private bar: Progress | undefined
  private state = { done: 0, failed: 0, total: 0, perProvider: new Map<string, number>(), startedAt: Date.now() }
  private readonly label: string

  constructor (label: string) {
    this.label = label
  }

  readonly onProgress = (progress: TaskProgress): void => {
    if (!this.jobIds.includes(progress.jobId)) {
      this.finish()
      this.jobIds.push(progress.jobId)
      say(`\n${this.label}, job ${this.jobIds.length}: ${progress.total} tasks`)
      this.bar = new Progress(process.stdout)
      this.state = { done: 0, failed: 0, total: progress.total, perProvider: new Map(), startedAt: Date.now() }
    }
    this.state.done = progress.done
    this.state.failed = progress.failed
    this.bar?.update(this.state)
  }

  /** Counts a task done by `provider` (map results say who did them). */
  doneBy (provider: string): void {
    this.state.perProvider.set(provider, (this.state.perProvider.get(provider) ?? 0) + 1)
  }

  finish (): void {
    this.bar?.update(this.state, true)
    this.bar = undefined
  }
}

say('building the example WebAssembly modules…')
await buildExamples()
say(`starting a grid on loopback: 1 requester + ${providerCount} providers, each a separate process…`)
const grid = await startLocalGrid({ providers: providerCount, coresPerProvider: 1 })
let exitCode = 0
let finalLine: string | undefined
try {
  const client = grid.requester.client
  say(`  requester ${grid.requester.peerId} (${grid.requester.address})`)
  for (const provider of grid.providers) say(`  provider  ${provider.peerId} (${provider.address})`)
  const discoveryStart = Date.now()
  while ((await client.peers()).filter(peer => peer.offer !== null).length < providerCount) {
    if (Date.now() - discoveryStart > 30_000) throw new Error('providers did not advertise within 30 s')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  say(`  ${providerCount} offers received over libp2p in ${Date.now() - discoveryStart} ms`)
  const nodes = [grid.requester, ...grid.providers]
  const balancesBefore = await balances(nodes)
  say(`  chain ${grid.chain.info.rpcUrl} (id ${grid.chain.info.chainId}): CON ${grid.chain.info.token}, escrow ${grid.chain.info.escrow}`)

  // The Mandelbrot image: one map task per tile, on the Task API; examples/mandelbrot/job.json
  // holds the job's settings (the same job `conun job submit` runs).
  const mandelbrotDir = join(ROOT, 'examples', 'mandelbrot')
  const { range, ...mandelbrotJob } = JSON.parse(await readFile(join(mandelbrotDir, 'job.json'), 'utf8')) as JobOptions & { range: { count: number, args: string[] } }
  const arg = (name: string) => Number(range.args[range.args.indexOf(name) + 1])
  const [width, height, tileSize] = [arg('--width'), arg('--height'), arg('--tile-size')]
  const mandelbrotRun = new JobRun(`mandelbrot, ${range.count} tiles of a ${width}×${height} image`)
  const tiles = new Map<number, Uint8Array>()
  for await (const result of map(client, Array.from({ length: range.count }, (_, tile) => tile), {
    ...mandelbrotJob,
    task: tile => ({ args: range.args.map(a => a.replace('{i}', String(tile))) }),
    baseDir: mandelbrotDir,
    onProgress: mandelbrotRun.onProgress,
  })) {
    const tile = result.files['tile.ppm']
    if (tile === undefined) throw new Error(`tile ${result.idx} wrote no /out/tile.ppm`)
    tiles.set(result.idx, await tile.bytes())
    mandelbrotRun.doneBy(result.provider)
  }
  mandelbrotRun.finish()
  const image = join(ROOT, 'out', 'mandelbrot.png')
  await mkdir(dirname(image), { recursive: true })
  await writeFile(image, encodePng(width, height, assembleTiles(width, height, tileSize, tiles)))
  say(`  wrote ${image} (${width}×${height}, ${tiles.size} tiles)`)

  // The primes below a bound: map tasks count ranges, and reduce tasks sum the counts on the grid,
  // by CID (a tree of reduces; the sum is AssemblyScript source the SDK compiles).
  const primesDir = join(ROOT, 'examples', 'primes')
  const { tasks: primeTasks, ...primesJob } = JSON.parse(await readFile(join(primesDir, 'job.json'), 'utf8')) as JobOptions & { tasks: TaskInput[] }
  const limit = Number(primeTasks.at(-1)!.args!.at(-1))
  const primesRun = new JobRun(`primes below ${limit.toLocaleString('en')}, counted by range then summed on the grid`)
  const total = await mapReduce(client, primeTasks, {
    map: { ...primesJob, task: task => task },
    reduce: { name: 'sum of the counts', runtime: 'wasi', module: join(ROOT, 'examples', 'task-api', 'assembly', 'sumNumbers.ts'), price: '0.01', fanIn: 8 },
    baseDir: primesDir,
    onProgress: primesRun.onProgress,
  })
  primesRun.finish()
  const primeCount = Number(Buffer.from(await total.bytes()).toString('utf8').trim())
  say(`  reduce on the grid: ${primeCount} primes below ${limit.toLocaleString('en')} (output ${total.cid})`)
  const jobs = await Promise.all([...mandelbrotRun.jobIds, ...primesRun.jobIds].map(jobId => settled(client, grid.providers, jobId)))

  const balancesAfter = await balances(nodes)
  say('\nbalances (CON, in the wallet and free in the escrow)')
  for (const node of nodes) {
    const change = balancesAfter.get(node.name)! - balancesBefore.get(node.name)!
    say(`  ${node.name.padEnd(11)} ${formatCon(balancesBefore.get(node.name)!).padStart(16)} → ${formatCon(balancesAfter.get(node.name)!).padStart(16)}  (${change >= 0n ? '+' : '−'}${formatCon(change >= 0n ? change : -change)})`)
  }
  const held = nodes.reduce((sum, node) => sum + balancesBefore.get(node.name)! - balancesAfter.get(node.name)!, 0n)
  if (held > 0n) say(`  ${formatCon(held)} reserved ahead and not earned stays in the escrow for the claim window, then goes back to the requester`)

  const tasks = jobs.reduce((sum, job) => sum + job.results.tasks.length, 0)
  const wallMs = jobs.reduce((sum, job) => sum + job.wallMs, 0)
  const perProvider: Record<string, number> = {}
  for (const job of jobs) for (const [peer, count] of job.perProvider) perProvider[peer] = (perProvider[peer] ?? 0) + count
  const summary = {
    tasks,
    providersUsed: Object.keys(perProvider).length,
    wallTimeMs: Math.round(wallMs),
    tasksPerSecond: Math.round((tasks / (wallMs / 1000)) * 10) / 10,
    bytesMoved: jobs.reduce((sum, job) => sum + job.bytesMoved, 0),
    perProvider,
    image: image,
    primes: { below: limit, count: primeCount },
    paidTotal: formatCon(jobs.reduce((sum, job) => sum + BigInt(job.payment.paidWei), 0n)),
    gasUsed: jobs.reduce((sum, job) => sum + Number(job.payment.gasUsed), 0),
    txCount: jobs.reduce((sum, job) => sum + job.payment.txCount, 0),
  }
  say('')
  say('summary')
  say(`  tasks            ${summary.tasks} (${tiles.size} tiles + ${primeTasks.length} prime ranges + ${summary.tasks - tiles.size - primeTasks.length} reduce tasks) in ${jobs.length} jobs`)
  say(`  providers used   ${summary.providersUsed}: ${Object.entries(perProvider).map(([peer, count]) => `${shortId(peer)} ${count}`).join(', ')}`)
  say(`  wall time        ${(summary.wallTimeMs / 1000).toFixed(2)} s`)
  say(`  throughput       ${summary.tasksPerSecond} tasks/s`)
  say(`  bytes moved      ${formatBytes(summary.bytesMoved)} (code and inputs to providers, results back)`)
  say(`  paid             ${summary.paidTotal} to providers, settled in ${summary.txCount} transactions (${summary.gasUsed.toLocaleString('en')} gas, ${Math.round(summary.gasUsed / summary.tasks)} gas per task)`)
  say(`  image            ${summary.image}`)
  finalLine = JSON.stringify(summary)
} catch (error) {
  console.error(`demo failed: ${(error as Error).message}`)
  exitCode = 1
} finally {
  say('stopping the grid…')
  await grid.stop()
  say('all nodes stopped')
}
// With --json, the summary is the very last line, for scripts.
if (values.json === true && finalLine !== undefined) console.log(finalLine)
process.exitCode = exitCode

/** A finished job's results and payment, once the requester has settled it (every provider paid in one transaction). */
async function settled (client: ConunClient, providers: GridNode[], jobId: string) {
  const results = await client.results(jobId)
  if (results.job.state !== 'completed') throw new Error(`job ${results.job.spec.name} ended ${results.job.state}`)
  let payment = (await client.job(jobId)).payment
  for (const deadline = Date.now() + 60_000; !isSettled(payment?.state) && Date.now() < deadline;) {
    await new Promise(resolve => setTimeout(resolve, 50))
    payment = (await client.job(jobId)).payment
  }
  if (payment === null || !isSettled(payment.state)) throw new Error(`job ${results.job.spec.name} was not settled: ${payment?.error ?? 'not a paid job'}`)
  const perProvider = new Map<string, number>()
  for (const task of results.tasks) if (task.provider !== null) perProvider.set(task.provider, (perProvider.get(task.provider) ?? 0) + 1)
  const wallMs = results.job.finishedAt! - results.job.createdAt
  const outputs = results.tasks.reduce((sum, task) => sum + task.outputs.reduce((s, o) => s + o.size, 0), 0)
  const moduleToProviders = results.job.spec.module.size * providers.filter(p => perProvider.has(p.peerId)).length
  say(`job "${results.job.spec.name}": ${results.tasks.length} tasks in ${(wallMs / 1000).toFixed(2)} s on ${perProvider.size} providers, paid ${formatCon(BigInt(payment.paidWei))} from an escrow of ${formatCon(BigInt(payment.escrowWei))}, ${payment.state === 'finalized' ? 'the rest returned' : 'the rest returned but for what was reserved ahead and not earned, which comes back after the claim window'}`)
  return { results, perProvider, wallMs, bytesMoved: outputs + moduleToProviders, payment }
}

/** Each node's CON: in its wallet, and free in its standing balance in the escrow (where a requester tops up from). */
async function balances (nodes: GridNode[]): Promise<Map<string, bigint>> {
  return new Map(await Promise.all(nodes.map(async node => {
    const wallet = await node.client.wallet()
    return [node.name, BigInt(wallet.conWei) + BigInt(wallet.escrowFreeWei)] as const
  })))
}
