// Grids across NATs, in real network namespaces with real NAT routers (see test/net/internet.ts):
// every node is its own `conun node start` process, joined with nothing but --bootstrap.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startNodeProcess, stopNode } from '../src/devnet/index.ts'
import { buildWasiFixture } from './fixtures/wasi/buildFixtures.ts'
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

async function startOn (host: NetHost, name: string, flags: string[]): Promise<Started> {
  const port = flags.includes('--provide') || !flags.includes('--bootstrap') ? RELAY_PORT : 0
  const node = await startNodeProcess(name, join(root, name), ['--listen', `/ip4/${host.ip}/tcp/${host.publicIp === host.ip ? RELAY_PORT : port}`, '--api-host', host.managementIp, ...flags], {
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
  }, 60_000, 'the providers\' offers with relay addresses')
}

/** How each provider's task session was reached, from the requester's events (linked, then moved). */
async function trackSessionPaths (requester: GridNode): Promise<{ history: string[], last(peerId: string): string | undefined, stop(): void }> {
  const history: string[] = []
  const latest = new Map<string, string>()
  const stop = await requester.client.events(event => {
    if (event.source === 'requester' && (event.type === 'provider.linked' || event.type === 'provider.moved')) {
      history.push(`${event.type} ${event.provider.slice(-6)} ${event.path}`)
      latest.set(event.provider, event.path)
    }
  })
  return { history, last: peerId => latest.get(peerId), stop }
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
  let pub1: NetHost

  before(async () => {
    root = await tempDir('nat')
    internet = createInternet()
    pub1 = internet.addPublicHost('pub1')
    natA = internet.addNat('natA')
    natB = internet.addNat('natB')
    symmetricA = internet.addNat('symA', { symmetric: true })
    symmetricB = internet.addNat('symB', { symmetric: true })
  })
  after(async () => {
    await stopAll()
    internet?.destroy()
    await rm(root, { recursive: true, force: true })
    if (process.env.CONUN_TEST_LOG !== undefined) await writeFile(process.env.CONUN_TEST_LOG, log.join('\n'))
  })

  it('requester and provider behind two NATs: the job completes, over a hole-punched direct connection', async () => {
    const module = await buildWasiFixture('checksum')
    const relay = await startOn(pub1, 'relay-1', [])
    const requesterHost = natA.addHost('req-a')
    const providerHost = natB.addHost('prov-b')
    const requester = await startOn(requesterHost, 'requester', ['--bootstrap', relay.bootstrap])
    const provider = await startOn(providerHost, 'provider', ['--provide', '--cores', '1', '--bootstrap', relay.bootstrap])
    await providerSeen(requester.node, [provider.node])

    const input = join(root, 'input.bin')
    const bytes = randomBytes(256 * 1024)
    await writeFile(input, bytes)
    const paths = await trackSessionPaths(requester.node)
    const submitted = await requester.node.client.submitJob({ runtime: 'wasi', module, inputs: { 'data.bin': input }, range: { count: 6, args: ['/in/data.bin'] }, limits: { timeoutMs: 30_000 } })
    await finished(requester.node, submitted.job.id, 120_000)
    const results = await requester.node.client.results(submitted.job.id)
    assert.equal(results.job.state, 'completed')
    const expected = (await readFile(input)).length
    for (const task of results.tasks) assert.match((await stdoutOf(requester.node.client, task.outputs)).trim(), new RegExp(`^${expected} [0-9a-f]{16}$`))

    paths.stop()
    assert.equal(paths.last(provider.node.peerId), 'hole-punched', `the session's paths: ${JSON.stringify(paths.history)}`)
    const seen = (await requester.node.client.peers()).find(peer => peer.peerId === provider.node.peerId)!
    assert.deepEqual(seen.connections.map(connection => connection.path), ['hole-punched'], 'the relayed connection used for signalling is closed')
    const status = await provider.node.client.node()
    assert.equal(status.reachability.status, 'private')
    assert.ok(status.reachability.relays.some(r => r.peerId === relay.node.peerId))
    const relayStatus = await relay.node.client.node()
    assert.equal(relayStatus.reachability.status, 'public')
    await stopAll()
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
    const paths = await trackSessionPaths(requester.node)
    const submitted = await requester.node.client.submitJob({ runtime: 'wasi', module, inputs: { 'big.bin': input }, range: { count: 1, args: ['/in/big.bin', '/out/big.bin'] }, limits: { timeoutMs: 120_000, outputMb: 16 } })
    await finished(requester.node, submitted.job.id, 240_000)
    paths.stop()
    const results = await requester.node.client.results(submitted.job.id)
    assert.equal(results.job.state, 'completed', JSON.stringify(results.tasks.map(task => [task.reason, task.message])))
    const [task] = results.tasks
    const output = task!.outputs.find(o => o.kind === 'file' && o.path === 'big.bin')!
    assert.deepEqual(await requester.node.client.contentBytes(output.cid), transformed(bytes))
    assert.equal(paths.last(provider.node.peerId), 'relayed', `the session's paths: ${JSON.stringify(paths.history)}`)
    await stopAll()
  })
})
