/**
 * Issue 16's many-providers measurement: one requester (a `conun node start` process of its own)
 * and N real provider nodes run M to an OS process by bench/providerHosts.ts, all on loopback.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { startLocalGrid } from '../src/devnet/index.ts'
import { timeJob } from './harness.ts'
import { cpuMs, rssMb } from './processStats.ts'
import type { ChildProcess } from 'node:child_process'
import type { ConunClient } from '../src/sdk/index.ts'

export interface ManyProvidersResult {
  readonly count: number
  readonly processes: number
  /** Providers whose offer is in the requester's book and which it holds a connection to. */
  readonly connected: number
  /** Providers that returned at least one result of the job. */
  readonly used: number
  readonly startSeconds: number
  readonly idleRequesterCpuPercent: number
  /** At idle, per provider: gossip messages received a second, and CPU (its share of its host process's). */
  readonly idleGossipPerProviderPerSecond: number
  readonly idleProviderCpuPercent: number
  readonly requesterRssMbPerProvider: number
  readonly tasks: number
  readonly tasksPerSecond: number
  readonly requesterCpuMsPerTask: number
}

const HOSTS = join(import.meta.dirname, 'providerHosts.ts')
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** Gossip messages a provider-host process's nodes have received so far (it answers SIGUSR2 with a line). */
const gossipCounters = new WeakMap<ChildProcess, () => Promise<number>>()

/** Starts one provider-host process (into `hosts`, to be stopped even if it fails) and resolves once all its nodes are up. */
async function startHosts (hosts: ChildProcess[], count: number, root: string, chainFlags: string[], bootstrap: string): Promise<void> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', HOSTS, '--count', String(count), '--root', root, ...chainFlags, '--bootstrap', bootstrap], { stdio: ['ignore', 'pipe', 'inherit'] })
  hosts.push(child)
  const lines = createInterface({ input: child.stdout! })
  gossipCounters.set(child, async () => new Promise<number>(resolve => {
    const onLine = (line: string) => {
      if (!line.includes('"event":"gossip"')) return
      lines.off('line', onLine)
      resolve((JSON.parse(line) as { messages: number }).messages)
    }
    lines.on('line', onLine)
    child.kill('SIGUSR2')
  }))
  await new Promise<void>((resolve, reject) => {
    lines.on('line', line => { if (line.includes('"event":"ready"')) resolve() })
    child.once('exit', code => reject(new Error(`a provider-host process exited with ${code} before its nodes were up`)))
  })
}

async function gossipReceived (hosts: readonly ChildProcess[]): Promise<number> {
  return (await Promise.all(hosts.map(async child => gossipCounters.get(child)!()))).reduce((sum, n) => sum + n, 0)
}

async function stopHosts (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  await exited
  clearTimeout(timer)
}

/** The requester's view: peers it holds a connection to, offers in its book, and peers with both. */
async function requesterView (client: ConunClient): Promise<{ connections: number, offers: number, both: number }> {
  const peers = await client.peers()
  return {
    connections: peers.filter(peer => peer.connected).length,
    offers: peers.filter(peer => peer.offer !== null).length,
    both: peers.filter(peer => peer.offer !== null && peer.connected).length,
  }
}

const describeView = (view: { connections: number, offers: number }) => `${view.connections} peers connected, ${view.offers} offers in the book`

/** The job's tasks: one WASI module, the same arguments for every task. */
export interface ManyProvidersTask {
  readonly module: string
  readonly args: readonly string[]
}

export async function measureManyProviders (count: number, options: { processes: number, tasks: number, idleSeconds: number, task: ManyProvidersTask }): Promise<ManyProvidersResult> {
  const { processes, tasks, idleSeconds, task } = options
  const grid = await startLocalGrid({ providers: 0, coresPerProvider: 1, requesterConfig: { scheduler: { maxProviders: Math.max(count, 64) } } })
  const root = await mkdtemp(join(tmpdir(), 'conun-hosts-'))
  const hosts: ChildProcess[] = []
  // Ctrl-C skips `finally`: the provider-host processes and the requester are stopped here instead.
  const onSignal = () => { void Promise.all(hosts.map(stopHosts)).then(async () => grid.stop()).then(async () => rm(root, { recursive: true, force: true })).finally(() => process.exit(130)) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const client = grid.requester.client
    const requesterPid = grid.requester.process.pid!
    await sleep(5_000)
    const rssBefore = rssMb(requesterPid)
    const chainFlags = ['--rpc', grid.chain.info.rpcUrl, '--token', grid.chain.info.token, '--escrow', grid.chain.info.escrow]
    const bootstrap = grid.requester.multiaddrs.find(addr => !addr.includes('/ws'))!
    const started = performance.now()
    const perProcess = Array.from({ length: processes }, (_, i) => Math.floor(count / processes) + (i < count % processes ? 1 : 0))
    await Promise.all(perProcess.map(async (m, i) => startHosts(hosts, m, join(root, `process-${i}`), chainFlags, bootstrap)))
    // Offers travel by gossip: the book fills over a few rounds after the last node is up.
    const deadline = Date.now() + 120_000
    let view = await requesterView(client)
    while (view.both < count && Date.now() < deadline) {
      await sleep(1000)
      view = await requesterView(client)
    }
    const connected = view.both
    const startSeconds = (performance.now() - started) / 1000
    console.log(`  ${connected} of ${count} providers connected with their offers in the book after ${startSeconds.toFixed(0)} s (${describeView(view)})`)

    await sleep(10_000)
    const hostPids = hosts.map(child => child.pid!)
    const idleFrom = cpuMs(requesterPid)
    const hostsIdleFrom = hostPids.reduce((sum, pid) => sum + cpuMs(pid), 0)
    const gossipFrom = await gossipReceived(hosts)
    await sleep(idleSeconds * 1000)
    const idleRequesterCpuPercent = (cpuMs(requesterPid) - idleFrom) / (idleSeconds * 10)
    const idleProviderCpuPercent = (hostPids.reduce((sum, pid) => sum + cpuMs(pid), 0) - hostsIdleFrom) / (idleSeconds * 10) / count
    const gossipMessages = await gossipReceived(hosts) - gossipFrom
    const idleGossipPerProviderPerSecond = gossipMessages / idleSeconds / count
    const requesterRssMbPerProvider = (rssMb(requesterPid) - rssBefore) / Math.max(connected, 1)
    console.log(`  requester idle: ${idleRequesterCpuPercent.toFixed(2)} % CPU, ${requesterRssMbPerProvider.toFixed(2)} MB RSS per connected provider`)
    console.log(`  provider idle: ${idleProviderCpuPercent.toFixed(3)} % CPU and ${idleGossipPerProviderPerSecond.toFixed(2)} gossip messages received a second, each (${gossipMessages} in all over ${idleSeconds} s)`)
    const afterIdle = await requesterView(client)
    console.log(`  after the idle time: ${afterIdle.both} connected with offers (${describeView(afterIdle)})`)

    const used = new Set<string>()
    const linked = new Set<string>()
    // Sessions that failed or ended, per provider: with the linked ones, whom the job reached, and how often it retried one.
    const sessionsOf = new Map<string, number>()
    // Why sessions failed or ended, by reason (a provider's peer id cut off), and how often.
    const lost = new Map<string, number>()
    const stopEvents = await client.events(event => {
      if (event.source !== 'requester') return
      if (event.type === 'task.done') used.add(event.provider)
      else if (event.type === 'provider.linked') linked.add(event.provider)
      else if (event.type === 'provider.lost') {
        sessionsOf.set(event.provider, (sessionsOf.get(event.provider) ?? 0) + 1)
        const reason = String(event.reason).replace(/[1-9A-HJ-NP-Za-km-z]{46,}/g, '<peer>').slice(0, 100)
        lost.set(reason, (lost.get(reason) ?? 0) + 1)
      }
    })
    const cpuBefore = cpuMs(requesterPid)
    const { wallMs } = await timeJob(client, { runtime: 'wasi', module: task.module, range: { count: tasks, args: [...task.args] } })
    const requesterCpuMsPerTask = (cpuMs(requesterPid) - cpuBefore) / tasks
    stopEvents()
    const tasksPerSecond = tasks / (wallMs / 1000)
    console.log(`  ${tasks} tasks: ${tasksPerSecond.toFixed(0)} tasks/s on ${used.size} providers, requester ${requesterCpuMsPerTask.toFixed(2)} ms CPU per task`)
    const reasons = [...lost].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([reason, n]) => `${n} × ${reason}`)
    console.log(`  sessions: ${linked.size} providers linked; ${[...lost.values()].reduce((a, b) => a + b, 0)} sessions failed or ended${reasons.length === 0 ? '' : `: ${reasons.join('; ')}`}`)
    const reached = new Set([...linked, ...sessionsOf.keys()]).size
    console.log(`  ${reached} of ${count} providers proposed to; a provider's sessions failed or ended at most ${Math.max(0, ...sessionsOf.values())} times`)
    return { count, processes, connected, used: used.size, startSeconds, idleRequesterCpuPercent, idleGossipPerProviderPerSecond, idleProviderCpuPercent, requesterRssMbPerProvider, tasks, tasksPerSecond, requesterCpuMsPerTask }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await Promise.all(hosts.map(stopHosts))
    await grid.stop()
    await rm(root, { recursive: true, force: true })
  }
}
