// `npm run bench:wan [-- --quick]`: conun across a simulated wide-area network, as root. Real
// `conun node start` processes in network namespaces behind real NAT routers (test/net/internet.ts);
// round trips are injected by a delay link (bench/wan/delayLink.ts) in front of the public node
// that carries the traffic, since this machine has no netem. Measured in one run:
// - 10 ms tasks on 2 providers (1 core each) at 0 / 50 / 150 ms RTT, direct and through a relay:
//   tasks/s and the time to the first result, beside the same job on loopback;
// - a 50 MB input moved directly and through a relay;
// - a job between two NATs (hole-punched) and between two symmetric NATs (relayed).
// The last line is JSON.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { startLocalGrid, startNodeProcess, stopNode } from '../src/devnet/index.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { tempDir, waitFor } from '../test/helpers.ts'
import { createInternet } from '../test/net/internet.ts'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import type { GridNode } from '../src/devnet/index.ts'
import type { ConunClient } from '../src/sdk/index.ts'
import type { NetHost } from '../test/net/internet.ts'

const quick = process.argv.includes('--quick')
const TASKS = quick ? 300 : 1000
const TASK_MS = 10
const RTTS = [0, 50, 150]
const TRANSFER_MB = quick ? 20 : 50
const PORT = 4001
const [sleep, checksum] = await Promise.all([buildWasiFixture('sleep'), buildWasiFixture('checksum')])

interface Run { readonly tasksPerSecond: number, readonly firstResultMs: number, readonly paths: string }

/**
 * One job of TASKS 10 ms tasks: the time to its first result, its throughput once results flow
 * (from the first result to the last: whether far providers are kept busy), and how its sessions went.
 */
async function runJob (client: ConunClient): Promise<Run> {
  let firstAt: number | undefined
  const paths = new Set<string>()
  const stop = await client.events(event => {
    if (event.source !== 'requester') return
    if (event.type === 'task.done') firstAt ??= performance.now()
    if (event.type === 'provider.linked' || event.type === 'provider.moved') paths.add(event.path)
  })
  try {
    const startedAt = performance.now()
    const submitted = await client.submitJob({ runtime: 'wasi', module: sleep, range: { count: TASKS, args: [String(TASK_MS)] }, limits: { timeoutMs: 30_000 } })
    while ((await client.job(submitted.job.id)).job.state === 'running') await new Promise(resolve => setTimeout(resolve, 20))
    const endedAt = performance.now()
    if ((await client.job(submitted.job.id)).job.state !== 'completed') throw new Error('the job did not complete')
    const first = firstAt ?? endedAt
    return { tasksPerSecond: (TASKS - 1) / ((endedAt - first) / 1000), firstResultMs: first - startedAt, paths: [...paths].join('→') }
  } finally {
    stop()
  }
}

/** A 50 MB input to one task: seconds and MB/s for the whole job (upload excluded). */
async function runTransfer (client: ConunClient, path: string): Promise<{ seconds: number, mbPerSecond: number }> {
  const { cid } = await client.uploadFile(path)
  const startedAt = performance.now()
  const submitted = await client.submitJob({ runtime: 'wasi', module: checksum, inputs: { 'data.bin': cid }, range: { count: 1, args: ['/in/data.bin'] }, limits: { timeoutMs: 300_000 } })
  while ((await client.job(submitted.job.id)).job.state === 'running') await new Promise(resolve => setTimeout(resolve, 50))
  if ((await client.job(submitted.job.id)).job.state !== 'completed') throw new Error('the transfer job did not complete')
  const seconds = (performance.now() - startedAt) / 1000
  return { seconds, mbPerSecond: TRANSFER_MB / seconds }
}

console.log(`conun WAN benchmark — ${new Date().toISOString().slice(0, 10)}, ${TASKS} tasks of ${TASK_MS} ms on 2 providers (1 core each); tasks/s counts from the first result to the last`)
const root = await tempDir('wan')
const input = join(root, 'input.bin')
await writeFile(input, randomBytes(TRANSFER_MB * 1024 * 1024))

console.log('\nloopback (one machine, no NAT, no delay)')
const grid = await startLocalGrid({ providers: 2, coresPerProvider: 1 })
let loopback: Run
try {
  await waitFor(async () => (await grid.requester.client.peers()).filter(peer => peer.offer !== null).length === 2, 30_000, 'two offers')
  await runJob(grid.requester.client) // warm-up: modules compiled, sessions known
  loopback = await runJob(grid.requester.client)
  console.log(`  ${loopback.tasksPerSecond.toFixed(0)} tasks/s, first result ${loopback.firstResultMs.toFixed(0)} ms`)
} finally {
  await grid.stop()
}

const internet = createInternet()
const nodes: GridNode[] = []
const links: ChildProcessWithoutNullStreams[] = []
const start = async (host: NetHost, name: string, flags: string[]) => {
  const node = await startNodeProcess(name, join(root, name), ['--api-host', host.managementIp, ...flags], { wrap: internet.exec(host, []) })
  nodes.push(node)
  return node
}
/** A node on a public host that listens on its loopback only, reached through a delay link on its public address. */
const startBehindDelay = async (host: NetHost, name: string, flags: string[]) => {
  const node = await start(host, name, ['--listen', `/ip4/127.0.0.1/tcp/${PORT}`, '--announce', `/ip4/${host.ip}/tcp/${PORT}`, ...flags])
  const argv = internet.exec(host, [process.execPath, '--disable-warning=ExperimentalWarning', join(import.meta.dirname, 'wan', 'delayLink.ts'), `${host.ip}:${PORT}`, `127.0.0.1:${PORT}`])
  const link = spawn(argv[0]!, argv.slice(1))
  links.push(link)
  const lines = createInterface({ input: link.stdout })[Symbol.asyncIterator]()
  const expect = async (word: string) => {
    const { value } = await lines.next()
    if (value !== word) throw new Error(`delay link said ${value}, not ${word}`)
  }
  await expect('ready')
  return {
    node,
    bootstrap: `/ip4/${host.ip}/tcp/${PORT}/p2p/${node.peerId}`,
    setOneWayDelay: async (ms: number) => {
      link.stdin.write(`delay ${ms}\n`)
      await expect('ok')
    },
  }
}
/** A node behind a NAT: it listens on its LAN address. */
const behindNat = (host: NetHost) => ['--listen', `/ip4/${host.ip}/tcp/0`]
const provider = (bootstrap: string) => ['--provide', '--cores', '1', '--runtimes', 'wasi', '--bootstrap', bootstrap]
const offersOf = async (client: ConunClient, count: number) => waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length >= count, 60_000, `${count} offers`)

const table: string[] = []
const results: Record<string, Run> = {}
try {
  // Direct: the requester has a public address (behind the delay link); the providers are behind a NAT.
  console.log('\ndirect: a public requester, providers behind a NAT')
  const requesterHost = internet.addPublicHost('wan-req')
  const natP = internet.addNat('wan-natP')
  const requester = await startBehindDelay(requesterHost, 'requester', [])
  await Promise.all(['p1', 'p2'].map(async name => {
    const host = natP.addHost(`wan-${name}`)
    return start(host, name, [...behindNat(host), ...provider(requester.bootstrap)])
  }))
  await offersOf(requester.node.client, 2)
  await runJob(requester.node.client)
  for (const rtt of RTTS) {
    await requester.setOneWayDelay(rtt / 2)
    const run = await runJob(requester.node.client)
    results[`direct${rtt}`] = run
    console.log(`  RTT ${rtt} ms: ${run.tasksPerSecond.toFixed(0)} tasks/s (${(run.tasksPerSecond / loopback.tasksPerSecond).toFixed(2)}× loopback), first result ${run.firstResultMs.toFixed(0)} ms, sessions ${run.paths}`)
    table.push(`| ${rtt} ms | direct | ${run.tasksPerSecond.toFixed(0)} | ${(run.tasksPerSecond / loopback.tasksPerSecond).toFixed(2)}× | ${run.firstResultMs.toFixed(0)} ms | ${TASK_MS + 4 * rtt} ms |`)
  }
  await requester.setOneWayDelay(0)
  const directTransfer = await runTransfer(requester.node.client, input)
  console.log(`  ${TRANSFER_MB} MB input: ${directTransfer.seconds.toFixed(1)} s (${directTransfer.mbPerSecond.toFixed(1)} MB/s)`)
  await Promise.all(nodes.splice(0).map(stopNode))

  // Relayed: requester and providers behind symmetric NATs, everything through one relay behind the delay link.
  console.log('\nrelayed: requester and providers behind symmetric NATs, one relay')
  const relayHost = internet.addPublicHost('wan-relay')
  const symR = internet.addNat('wan-symR', { symmetric: true })
  const symP = internet.addNat('wan-symP', { symmetric: true })
  const relay = await startBehindDelay(relayHost, 'relay', [])
  const relayedRequesterHost = symR.addHost('wan-sreq')
  const relayedRequester = await start(relayedRequesterHost, 'requester-s', [...behindNat(relayedRequesterHost), '--bootstrap', relay.bootstrap])
  await Promise.all(['s1', 's2'].map(async name => {
    const host = symP.addHost(`wan-${name}`)
    return start(host, name, [...behindNat(host), ...provider(relay.bootstrap)])
  }))
  await waitFor(async () => (await relayedRequester.client.peers()).filter(peer => peer.offer?.addrs.some(addr => addr.includes('/p2p-circuit')) === true).length >= 2, 60_000, 'two relayed offers')
  await runJob(relayedRequester.client)
  for (const rtt of RTTS) {
    // Requester → relay → provider: two legs behind the one link, each way.
    await relay.setOneWayDelay(rtt / 4)
    const run = await runJob(relayedRequester.client)
    results[`relayed${rtt}`] = run
    console.log(`  RTT ${rtt} ms: ${run.tasksPerSecond.toFixed(0)} tasks/s (${(run.tasksPerSecond / loopback.tasksPerSecond).toFixed(2)}× loopback), first result ${run.firstResultMs.toFixed(0)} ms, sessions ${run.paths}`)
    table.push(`| ${rtt} ms | relayed | ${run.tasksPerSecond.toFixed(0)} | ${(run.tasksPerSecond / loopback.tasksPerSecond).toFixed(2)}× | ${run.firstResultMs.toFixed(0)} ms | ${TASK_MS + 4 * rtt} ms |`)
  }
  await relay.setOneWayDelay(0)
  const relayedTransfer = await runTransfer(relayedRequester.client, input)
  console.log(`  ${TRANSFER_MB} MB input: ${relayedTransfer.seconds.toFixed(1)} s (${relayedTransfer.mbPerSecond.toFixed(1)} MB/s)`)
  const symmetricNatJob = { completed: true, paths: results.relayed0!.paths }
  await Promise.all(nodes.splice(0).map(stopNode))

  // Two ordinary NATs: the session moves to a hole-punched connection.
  console.log('\nhole punching: requester and provider behind two NATs')
  const plainRelayHost = internet.addPublicHost('wan-relay2')
  const natA = internet.addNat('wan-natA')
  const natB = internet.addNat('wan-natB')
  const plainRelay = await start(plainRelayHost, 'relay-2', ['--listen', `/ip4/${plainRelayHost.ip}/tcp/${PORT}`])
  const punchBootstrap = `/ip4/${plainRelayHost.ip}/tcp/${PORT}/p2p/${plainRelay.peerId}`
  const natRequesterHost = natA.addHost('wan-nreq')
  const natRequester = await start(natRequesterHost, 'requester-n', [...behindNat(natRequesterHost), '--bootstrap', punchBootstrap])
  const natProviderHost = natB.addHost('wan-n1')
  await start(natProviderHost, 'n1', [...behindNat(natProviderHost), ...provider(punchBootstrap)])
  await waitFor(async () => (await natRequester.client.peers()).some(peer => peer.offer?.addrs.some(addr => addr.includes('/p2p-circuit')) === true), 60_000, 'a relayed offer')
  const punched = await runJob(natRequester.client)
  const natJob = { completed: true, direct: punched.paths.endsWith('hole-punched') || punched.paths === 'direct' }
  console.log(`  completed, sessions ${punched.paths}`)

  const rtt150 = results.direct150!
  console.log('\n| RTT | path | tasks/s | vs loopback | first result | goal: task + 4 RTT |\n|---|---|---:|---:|---:|---:|')
  console.log(`| — | loopback | ${loopback.tasksPerSecond.toFixed(0)} | 1.00× | ${loopback.firstResultMs.toFixed(0)} ms | ${TASK_MS} ms |`)
  for (const row of table) console.log(row)
  console.log(`\n${TRANSFER_MB} MB input: direct ${directTransfer.seconds.toFixed(1)} s (${directTransfer.mbPerSecond.toFixed(1)} MB/s), relayed ${relayedTransfer.seconds.toFixed(1)} s (${relayedTransfer.mbPerSecond.toFixed(1)} MB/s)`)
  console.log(JSON.stringify({
    rtt150: { tasksPerSecond: Math.round(rtt150.tasksPerSecond), ratioToLoopback: Number((rtt150.tasksPerSecond / loopback.tasksPerSecond).toFixed(2)), firstResultMs: Math.round(rtt150.firstResultMs) },
    relayedRtt150: { tasksPerSecond: Math.round(results.relayed150!.tasksPerSecond), ratioToLoopback: Number((results.relayed150!.tasksPerSecond / loopback.tasksPerSecond).toFixed(2)), firstResultMs: Math.round(results.relayed150!.firstResultMs) },
    transferMbPerSecond: { direct: Number(directTransfer.mbPerSecond.toFixed(1)), relayed: Number(relayedTransfer.mbPerSecond.toFixed(1)) },
    natJob,
    symmetricNatJob: { completed: symmetricNatJob.completed },
  }))
} finally {
  for (const link of links) link.kill()
  await Promise.all(nodes.map(stopNode))
  internet.destroy()
  await rm(root, { recursive: true, force: true })
}
