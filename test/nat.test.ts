// Grids across NATs, in real network namespaces with real NAT routers (see test/net/internet.ts):
// every node is its own `conun node start` process, joined with nothing but --bootstrap.
import { after, afterEach, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startNodeProcess, stopNode } from '../src/devnet/index.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { stdoutOf, tempDir, waitFor } from './helpers.ts'
import { createInternet } from './net/internet.ts'
import type { GridNode } from '../src/devnet/index.ts'
import type { Internet, NetHost, NatRouter } from './net/internet.ts'

const RELAY_PORT = 4001

let internet: Internet
let root: string
const nodes: GridNode[] = []
const log: string[] = []

interface Started {
  readonly node: GridNode
  readonly host: NetHost
  /** Its bootstrap address (public nodes), with /p2p/<id>. */
  readonly bootstrap: string
}

/** Starts a node on `host`: a public host listens on RELAY_PORT (it answers STUN there too), a NAT'd one anywhere. */
async function startOn (host: NetHost, name: string, flags: string[]): Promise<Started> {
  const port = host.publicIp === host.ip ? RELAY_PORT : 0
  const node = await startNodeProcess(name, join(root, name), ['--listen', `/ip4/${host.ip}/tcp/${port}`, '--api-host', host.managementIp, ...flags], {
    wrap: internet.exec(host, []),
    log: line => log.push(line),
  })
  nodes.push(node)
  return { node, host, bootstrap: `/ip4/${host.ip}/tcp/${RELAY_PORT}/p2p/${node.peerId}` }
}

async function stopAll (): Promise<void> {
  await Promise.all(nodes.splice(0).map(stopNode))
}

async function providerSeen (requester: GridNode, providers: readonly GridNode[]): Promise<void> {
  await waitFor(async () => {
    const peers = await requester.client.peers()
    return providers.every(provider => peers.some(peer => peer.peerId === provider.peerId && peer.offer !== null && peer.offer.addrs.some(addr => addr.includes('/p2p-circuit'))))
  }, 120_000, 'the providers\' offers with relay addresses')
}

/** What happened to the requester's sessions, from its events: linked, moved, lost, and every dispatch. */
async function trackSessions (requester: GridNode): Promise<{ history: string[], dispatched: Map<number, Set<string>>, last(peerId: string): string | undefined, stop(): void }> {
  const history: string[] = []
  const latest = new Map<string, string>()
  const dispatched = new Map<number, Set<string>>()
  const stop = await requester.client.events(event => {
    if (event.source !== 'requester') return
    if (event.type === 'provider.linked' || event.type === 'provider.moved') {
      history.push(`${event.type} ${event.provider.slice(-6)} ${event.path}`)
      latest.set(event.provider, event.path)
    } else if (event.type === 'provider.lost') {
      history.push(`${event.type} ${event.provider.slice(-6)} ${event.reason}`)
    } else if (event.type === 'task.dispatched') {
      dispatched.set(event.idx, new Set([...(dispatched.get(event.idx) ?? []), event.provider]))
    }
  })
  return { history, dispatched, last: peerId => latest.get(peerId), stop }
}

async function finished (requester: GridNode, jobId: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => (await requester.client.job(jobId)).job.state !== 'running', timeoutMs, `job ${jobId}`)
}

/** 0x5a XOR of every byte: what the transform fixture writes. */
const transformed = (bytes: Uint8Array) => Buffer.from(bytes.map(byte => byte ^ 0x5a))

describe('a grid across NATs', { skip: process.getuid?.() !== 0 ? 'needs root for network namespaces' : false }, () => {
  let natA: NatRouter
  let natB: NatRouter
  let symmetricA: NatRouter
  let symmetricB: NatRouter
  let natC: NatRouter
  let pub1: NetHost
  let pub2: NetHost

  before(async () => {
    root = await tempDir('nat')
    internet = createInternet()
    pub1 = internet.addPublicHost('pub1')
    pub2 = internet.addPublicHost('pub2')
    natC = internet.addNat('natC')
    natA = internet.addNat('natA')
    natB = internet.addNat('natB')
    symmetricA = internet.addNat('symA', { symmetric: true })
    symmetricB = internet.addNat('symB', { symmetric: true })
  })
  // Every test's nodes stop after it, passed or failed: the next test listens on the same addresses.
  afterEach(stopAll)
  after(async () => {
    internet?.destroy()
    await rm(root, { recursive: true, force: true })
    if (process.env.CONUN_TEST_LOG !== undefined) await writeFile(process.env.CONUN_TEST_LOG, log.join('\n'))
  })

  it('requester and provider behind two NATs: jobs complete, and the session moves to a hole-punched direct connection', async () => {
    const [checksum, sleep] = await Promise.all([buildWasiFixture('checksum'), buildWasiFixture('sleep')])
    const relay = await startOn(pub1, 'relay-1', [])
    const requester = await startOn(natA.addHost('req-a'), 'requester', ['--bootstrap', relay.bootstrap])
    const provider = await startOn(natB.addHost('prov-b'), 'provider', ['--provide', '--cores', '1', '--bootstrap', relay.bootstrap])
    await providerSeen(requester.node, [provider.node])

    // A job with an input: the outputs are right.
    const input = join(root, 'input.bin')
    await writeFile(input, randomBytes(256 * 1024))
    const withInput = await requester.node.client.submitJob({ runtime: 'wasi', module: checksum, inputs: { 'data.bin': input }, range: { count: 6, args: ['/in/data.bin'] }, limits: { timeoutMs: 30_000 } })
    await finished(requester.node, withInput.job.id, 120_000)
    const results = await requester.node.client.results(withInput.job.id)
    assert.equal(results.job.state, 'completed')
    const expected = (await readFile(input)).length
    for (const task of results.tasks) assert.match((await stdoutOf(requester.node.client, task.outputs)).trim(), new RegExp(`^${expected} [0-9a-f]{16}$`))

    // A job long enough to watch its session: it starts through the relay and moves to the punched connection.
    const paths = await trackSessions(requester.node)
    const longer = await requester.node.client.submitJob({ runtime: 'wasi', module: sleep, range: { count: 20, args: ['100'] }, limits: { timeoutMs: 30_000 } })
    await finished(requester.node, longer.job.id, 120_000)
    paths.stop()
    assert.equal((await requester.node.client.job(longer.job.id)).job.state, 'completed')
    assert.equal(paths.last(provider.node.peerId), 'hole-punched', `the session's paths: ${JSON.stringify(paths.history)}`)
    assert.ok(!paths.history.some(line => line.startsWith('provider.lost')), `the session moved, it was not lost: ${JSON.stringify(paths.history)}`)
    const seen = (await requester.node.client.peers()).find(peer => peer.peerId === provider.node.peerId)!
    assert.ok(seen.connections.some(connection => connection.path === 'hole-punched'), `connections: ${JSON.stringify(seen.connections)}`)
    const status = await provider.node.client.node()
    assert.equal(status.reachability.status, 'private')
    assert.ok(status.reachability.relays.some(r => r.peerId === relay.node.peerId))
    assert.equal((await relay.node.client.node()).reachability.status, 'public')
  })

  it('behind symmetric NATs hole punching fails: the job completes through the relay, 12 MB in and 12 MB out', async () => {
    const module = await buildWasiFixture('transform')
    const relay = await startOn(pub1, 'relay-sym', [])
    const requester = await startOn(symmetricA.addHost('req-s'), 'requester-sym', ['--bootstrap', relay.bootstrap])
    const provider = await startOn(symmetricB.addHost('prov-s'), 'provider-sym', ['--provide', '--cores', '1', '--bootstrap', relay.bootstrap])
    await providerSeen(requester.node, [provider.node])
    const input = join(root, 'big.bin')
    const bytes = randomBytes(12 * 1024 * 1024)
    await writeFile(input, bytes)
    const paths = await trackSessions(requester.node)
    const submitted = await requester.node.client.submitJob({ runtime: 'wasi', module, inputs: { 'big.bin': input }, range: { count: 1, args: ['/in/big.bin', '/out/big.bin'] }, limits: { timeoutMs: 120_000, outputMb: 16 } })
    await finished(requester.node, submitted.job.id, 240_000)
    paths.stop()
    const results = await requester.node.client.results(submitted.job.id)
    assert.equal(results.job.state, 'completed', JSON.stringify(results.tasks.map(task => [task.reason, task.message])))
    const [task] = results.tasks
    const output = task!.outputs.find(o => o.kind === 'file' && o.path === 'big.bin')!
    assert.deepEqual(await requester.node.client.contentBytes(output.cid), transformed(bytes))
    assert.equal(paths.last(provider.node.peerId), 'relayed', `the session's paths: ${JSON.stringify(paths.history)}`)
  })

  it('the relay carrying a session is killed mid-job: the session resumes through the other relay, nothing lost, nothing accepted twice', async () => {
    const module = await buildWasiFixture('sleep')
    const relay1 = await startOn(pub1, 'relay-k1', [])
    const relay2 = await startOn(pub2, 'relay-k2', ['--bootstrap', relay1.bootstrap])
    const both = ['--bootstrap', relay1.bootstrap, '--bootstrap', relay2.bootstrap]
    const requester = await startOn(symmetricA.addHost('req-k'), 'requester-k', both)
    const provider = await startOn(symmetricB.addHost('prov-k'), 'provider-k', ['--provide', '--cores', '1', ...both])
    await waitFor(async () => (await provider.node.client.node()).reachability.relays.length === 2, 60_000, 'the provider to hold slots on both relays')
    await providerSeen(requester.node, [provider.node])
    const sessions = await trackSessions(requester.node)
    const done = new Map<number, number>()
    const stopDone = await requester.node.client.events(event => {
      if (event.source === 'requester' && event.type === 'task.done') done.set(event.idx, (done.get(event.idx) ?? 0) + 1)
    })
    const submitted = await requester.node.client.submitJob({ runtime: 'wasi', module, range: { count: 40, args: ['150'] }, limits: { timeoutMs: 30_000 } })
    await waitFor(() => done.size >= 5, 60_000, 'a few tasks done')
    const carrying = (await requester.node.client.peers()).find(peer => peer.peerId === provider.node.peerId)!.connections.find(c => c.path === 'relayed')!
    const victim = carrying.addr.includes(relay1.node.peerId) ? relay1 : relay2
    victim.node.process.kill('SIGKILL')
    await victim.node.exited
    await finished(requester.node, submitted.job.id, 120_000)
    sessions.stop()
    stopDone()
    const results = await requester.node.client.results(submitted.job.id)
    assert.equal(results.job.state, 'completed', JSON.stringify(sessions.history))
    assert.equal(results.tasks.length, 40)
    for (const task of results.tasks) assert.equal((await stdoutOf(requester.node.client, task.outputs)).trim(), 'sleeping\nwoke')
    assert.ok([...done.values()].every(count => count === 1), 'no task was accepted twice')
    assert.ok(sessions.history.some(line => line.startsWith('provider.moved')), `the session moved: ${JSON.stringify(sessions.history)}`)
    assert.ok(!sessions.history.some(line => line.startsWith('provider.lost')), `the session was not lost: ${JSON.stringify(sessions.history)}`)
  })

  it('two bootstrap nodes that know each other: a requester on one finds and uses the providers on the other', async () => {
    // Tasks of half a second: checksum tasks were so quick that one provider could finish them all before the other's session opened.
    const module = await buildWasiFixture('sleep')
    const boot1 = await startOn(pub1, 'boot-1', [])
    const boot2 = await startOn(pub2, 'boot-2', ['--bootstrap', boot1.bootstrap])
    const requester = await startOn(natA.addHost('req-2b'), 'requester-2b', ['--bootstrap', boot1.bootstrap])
    const providers = await Promise.all(['p1', 'p2'].map(async name => startOn(natB.addHost(`${name}-2b`), `provider-2b-${name}`, ['--provide', '--cores', '1', '--bootstrap', boot2.bootstrap])))
    await providerSeen(requester.node, providers.map(p => p.node))
    const submitted = await requester.node.client.submitJob({ runtime: 'wasi', module, range: { count: 24, args: ['500'] } })
    await finished(requester.node, submitted.job.id, 120_000)
    const results = await requester.node.client.results(submitted.job.id)
    assert.equal(results.job.state, 'completed')
    assert.deepEqual(new Set(results.tasks.map(task => task.provider)), new Set(providers.map(p => p.node.peerId)), 'both providers worked')
  })

  it('distinctHosts with replication 2: the replicas of a task land on providers at different public addresses', async () => {
    const module = await buildWasiFixture('checksum')
    const relay = await startOn(pub1, 'relay-d', [])
    const requester = await startOn(natA.addHost('req-d'), 'requester-d', ['--bootstrap', relay.bootstrap])
    // Two providers behind one NAT (one public address, as one household or one operator), one behind another.
    const sameNat = await Promise.all(['d1', 'd2'].map(async name => startOn(natB.addHost(name), `provider-${name}`, ['--provide', '--cores', '1', '--bootstrap', relay.bootstrap])))
    const other = await startOn(natC.addHost('d3'), 'provider-d3', ['--provide', '--cores', '1', '--bootstrap', relay.bootstrap])
    await providerSeen(requester.node, [...sameNat, other].map(p => p.node))
    const sessions = await trackSessions(requester.node)
    const input = join(root, 'small.bin')
    await writeFile(input, randomBytes(4096))
    const submitted = await requester.node.client.submitJob({ runtime: 'wasi', module, inputs: { 'data.bin': input }, range: { count: 12, args: ['/in/data.bin'] }, replication: 2, quorum: 2, distinctHosts: true })
    await finished(requester.node, submitted.job.id, 180_000)
    sessions.stop()
    const results = await requester.node.client.results(submitted.job.id)
    assert.equal(results.job.state, 'completed', JSON.stringify(sessions.history))
    const household = new Set(sameNat.map(p => p.node.peerId))
    for (const [idx, providers] of sessions.dispatched) {
      assert.ok([...providers].filter(peerId => household.has(peerId)).length <= 1, `task ${idx} ran on two providers behind one NAT: ${[...providers].join(', ')}`)
      assert.ok(providers.has(other.node.peerId), `task ${idx} ran on the provider behind the other NAT`)
    }
  })
})
