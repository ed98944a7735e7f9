// `npm start`: the conun demo. Starts a grid on loopback (one requester/bootstrap node and three
// providers, each its own OS process), renders a Mandelbrot image tile by tile across the providers,
// counts primes with a reduce step, pays the providers through the escrow on a local dev chain,
// prints a summary with token balances before and after, and shuts everything down.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { assembleTiles } from '../examples/mandelbrot/tiles.ts'
import { reducePrimeCounts } from '../examples/primes/primes.ts'
import { formatBytes, Progress, shortId } from '../src/cli/index.ts'
import { startLocalGrid } from '../src/devnet/index.ts'
import { formatCon } from '../src/ledger/index.ts'
import { encodePng } from '../src/util/index.ts'
import { buildExamples } from './build-examples.ts'
import type { GridNode } from '../src/devnet/index.ts'
import { followJob } from '../src/sdk/index.ts'
import type { ConunClient } from '../src/sdk/index.ts'

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

  const mandelbrot = await runJob(client, grid.providers, join(ROOT, 'examples', 'mandelbrot', 'job.json'))
  const spec = JSON.parse(await readFile(join(ROOT, 'examples', 'mandelbrot', 'job.json'), 'utf8')) as { range: { args: string[] } }
  const arg = (name: string) => Number(spec.range.args[spec.range.args.indexOf(name) + 1])
  const [width, height, tileSize] = [arg('--width'), arg('--height'), arg('--tile-size')]
  const tiles = new Map<number, Uint8Array>()
  for (const task of mandelbrot.results.tasks) {
    const tile = task.outputs.find(output => output.kind === 'file' && output.path === 'tile.ppm')
    if (tile === undefined) throw new Error(`tile ${task.idx} has no /out/tile.ppm (${task.reason ?? 'no result'})`)
    tiles.set(task.idx, await client.contentBytes(tile.cid))
  }
  const image = join(ROOT, 'out', 'mandelbrot.png')
  await mkdir(dirname(image), { recursive: true })
  await writeFile(image, encodePng(width, height, assembleTiles(width, height, tileSize, tiles)))
  say(`  wrote ${image} (${width}×${height}, ${tiles.size} tiles)`)

  const primes = await runJob(client, grid.providers, join(ROOT, 'examples', 'primes', 'job.json'))
  const stdouts = await Promise.all(primes.results.tasks.map(async task => (await client.contentBytes(task.outputs.find(o => o.kind === 'stdout')!.cid)).toString()))
  const primeCount = reducePrimeCounts(stdouts)
  const primeSpec = JSON.parse(await readFile(join(ROOT, 'examples', 'primes', 'job.json'), 'utf8')) as { tasks: Array<{ args: string[] }> }
  const limit = Number(primeSpec.tasks.at(-1)!.args.at(-1))
  say(`  reduce: ${primeCount} primes below ${limit.toLocaleString('en')}`)

  const balancesAfter = await balances(nodes)
  say('\nbalances (CON, in the wallet and free in the escrow)')
  for (const node of nodes) {
    const change = balancesAfter.get(node.name)! - balancesBefore.get(node.name)!
    say(`  ${node.name.padEnd(11)} ${formatCon(balancesBefore.get(node.name)!).padStart(16)} → ${formatCon(balancesAfter.get(node.name)!).padStart(16)}  (${change >= 0n ? '+' : '−'}${formatCon(change >= 0n ? change : -change)})`)
  }

  const jobs = [mandelbrot, primes]
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
  say(`  tasks            ${summary.tasks} (${mandelbrot.results.tasks.length} tiles + ${primes.results.tasks.length} prime ranges)`)
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

/** Submits a job spec file, shows live progress per provider, and returns its results. */
async function runJob (client: ConunClient, providers: GridNode[], specPath: string) {
  const spec = JSON.parse(await readFile(specPath, 'utf8')) as { name: string }
  const bar = new Progress(process.stdout)
  say(`\njob "${spec.name}": submitting ${specPath}`)
  const { status, progress } = await followJob(client, () => client.submitJob(spec, dirname(specPath)), current => bar.update(current))
  bar.update(progress, true)
  const perProvider = progress.perProvider
  const results = await client.results(status.job.id)
  if (results.job.state !== 'completed') throw new Error(`job ${spec.name} ended ${results.job.state}`)
  // The requester settles the escrow as the job ends: every provider paid in one transaction.
  let payment = (await client.job(status.job.id)).payment
  for (const deadline = Date.now() + 60_000; payment?.state !== 'finalized' && Date.now() < deadline;) {
    await new Promise(resolve => setTimeout(resolve, 50))
    payment = (await client.job(status.job.id)).payment
  }
  if (payment === null || payment.state !== 'finalized') throw new Error(`job ${spec.name} was not settled: ${payment?.error ?? 'no escrow'}`)
  const wallMs = results.job.finishedAt! - results.job.createdAt
  const outputs = results.tasks.reduce((sum, task) => sum + task.outputs.reduce((s, o) => s + o.size, 0), 0)
  const moduleToProviders = results.job.spec.module.size * providers.filter(p => perProvider.has(p.peerId)).length
  say(`job "${spec.name}": ${results.tasks.length} tasks in ${(wallMs / 1000).toFixed(2)} s on ${perProvider.size} providers`)
  say(`job "${spec.name}": paid ${formatCon(BigInt(payment.paidWei))} from an escrow of ${formatCon(BigInt(payment.escrowWei))}, the rest returned`)
  return { results, perProvider, wallMs, bytesMoved: outputs + moduleToProviders, payment }
}

/** Each node's CON: in its wallet, and free in its standing balance in the escrow (where a requester tops up from). */
async function balances (nodes: GridNode[]): Promise<Map<string, bigint>> {
  return new Map(await Promise.all(nodes.map(async node => {
    const wallet = await node.client.wallet()
    return [node.name, BigInt(wallet.conWei) + BigInt(wallet.escrowFreeWei)] as const
  })))
}
