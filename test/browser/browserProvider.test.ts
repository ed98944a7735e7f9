// Browser tabs as providers: they join the grid over WebSockets, take agreements and run tasks in
// Web Workers under the same sandbox contract as a node, and their signed results are accepted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { buildExamples } from '../../scripts/build-examples.ts'
import { countPrimesJs, primeRanges, primeTaskArgs } from '../../examples/primes/primes.ts'
import { startLocalGrid, startNodeProcess, stopNode } from '../../src/devnet/index.ts'
import { MAX_TASK_FDS } from '../../src/runtime/index.ts'
import { ensureWebBundle } from '../../src/web/index.ts'
import { buildWasiFixture } from '../../src/runtime/wasi/fixtures/buildFixtures.ts'
import { stdoutOf, tempDir, waitFor } from '../helpers.ts'
import { apiToken, launchChromium, provideLink } from './browser.ts'
import type { JobSpecInput } from '../../src/requester/index.ts'

const [examples, bigout, escape, memhog, loop, mkdirs, holdfds] = await Promise.all([
  buildExamples({ log: () => {} }), buildWasiFixture('bigout'), buildWasiFixture('escape'), buildWasiFixture('memhog'), buildWasiFixture('loop'),
  buildWasiFixture('mkdirs'), buildWasiFixture('holdfds'), ensureWebBundle(),
])
const OUT = resolve(import.meta.dirname, '..', '..', 'out')
const primes = examples.find(path => path.endsWith('primes.wasm'))!
const grid = await startLocalGrid({ providers: 1, coresPerProvider: 1 })
const browser = await launchChromium()
const client = grid.requester.client
const nodeProvider = grid.providers[0]!.peerId
test.after(async () => {
  await browser.close()
  await grid.stop()
})

// The tabs join through the provide link the dashboard hands out, which holds no API token.
const link = await provideLink(browser, grid.requester)
// Two tabs, each its own session key (sessionStorage is per tab).
const tabs = await Promise.all([0, 1].map(async () => {
  const page = await browser.newPage()
  await page.goto(link)
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
  return { page, peerId: await page.locator('#peer').textContent() ?? '' }
}))
const browserPeers = tabs.map(tab => tab.peerId)
await waitFor(async () => (await client.peers()).filter(peer => browserPeers.includes(peer.peerId) && peer.offer?.runtimes.includes('wasi') === true).length === 2, 20_000, 'both browsers\' offers')
/** Tasks each tab finished, as the requester saw them. */
const doneByTab = new Map(browserPeers.map(peer => [peer, 0]))

async function run (spec: JobSpecInput) {
  const submitted = await client.submitJob(spec)
  await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 120_000, `job ${spec.name}`)
  return client.results(submitted.job.id)
}

test('the provide link carries a token of its own, which cannot read or submit jobs', async () => {
  const token = new URLSearchParams(new URL(link).hash.slice(1)).get('token') ?? ''
  assert.match(token, /^[0-9a-f]{64}$/)
  assert.notEqual(token, await apiToken(grid.requester))
  assert.equal(new URL(tabs[0]!.page.url()).hash, '', 'the token is taken out of the address bar')
  const asTab = (method: string, path: string) => tabs[0]!.page.evaluate(async ([method, path, token]) => (await fetch(path!, { method, headers: { authorization: `Bearer ${token}` } })).status, [method, path, token])
  assert.equal(await asTab('GET', '/v1/provide'), 200)
  for (const [method, path] of [['GET', '/v1/jobs'], ['POST', '/v1/jobs'], ['GET', '/v1/wallet'], ['GET', '/v1/node']]) assert.equal(await asTab(method!, path!), 401, `${method} ${path}`)
  const refused = await browser.newPage()
  await refused.goto(`${grid.requester.client.url}/provide#token=${'0'.repeat(64)}`)
  await refused.waitForFunction(() => document.querySelector('#errors')?.textContent?.includes('does not accept this provide link') === true)
  await refused.close()
})

test('two tabs, each with its own key, complete a share of the work with correct results', async () => {
  assert.notEqual(browserPeers[0], browserPeers[1])
  // The grid's node provider takes a job of its own; this one may go to the tabs only.
  const ranges = primeRanges(20_000_000, 24)
  const [onNode, inTabs] = await Promise.all([
    run({ name: 'primes-node', runtime: 'wasi', module: primes, tasks: ranges.slice(0, 8).map(range => ({ args: primeTaskArgs(range) })), constraints: { providers: [nodeProvider] } }),
    run({ name: 'primes-browsers', runtime: 'wasi', module: primes, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), constraints: { providers: browserPeers } }),
  ])
  assert.equal(onNode.job.state, 'completed')
  assert.equal(inTabs.job.state, 'completed')
  for (const task of inTabs.tasks) {
    assert.equal(task.exitCode, 0)
    const range = ranges[task.idx]!
    assert.equal(Number((await stdoutOf(client, task.outputs)).trim()), countPrimesJs(range.from, range.to), `task ${task.idx}`)
    doneByTab.set(task.provider!, doneByTab.get(task.provider!)! + 1)
  }
  assert.ok(browserPeers.every(peer => doneByTab.get(peer)! > 0), 'both tabs ran tasks')
})

test('a tab serves a 10 MB output by CID, and a node computing the same task agrees on it', async () => {
  // With one replica on the node and one in a tab, the task is done only if both name the same CID.
  const results = await run({ name: 'bigout', runtime: 'wasi', module: bigout, range: { count: 1 }, replication: 2, quorum: 2, constraints: { providers: [nodeProvider, browserPeers[0]!] } })
  const [task] = results.tasks
  assert.equal(task?.state, 'done', `${task?.reason}: ${task?.message}`)
  const file = task!.outputs.find(output => output.path === 'big.bin')!
  const bytes = await client.contentBytes(file.cid)
  assert.equal(bytes.byteLength, file.size)
  assert.ok(bytes.every(byte => byte === 0x62), 'the output is what the module wrote')
  doneByTab.set(browserPeers[0]!, doneByTab.get(browserPeers[0]!)! + 1)
})

test('a tab holds a slot on the relay of the node that served it, so another requester gets work done by it', async () => {
  const tab = browserPeers[1]!
  // Another requester, joining the grid through the serving node; it never talks to the tab directly.
  const other = await startNodeProcess('other-requester', join(await tempDir('other'), 'node'), ['--bootstrap', grid.requester.multiaddrs.find(addr => !addr.includes('/ws'))!])
  try {
    await waitFor(async () => (await other.client.peers()).some(peer => peer.peerId === tab && peer.offer?.addrs.some(addr => addr.includes(`/p2p/${grid.requester.peerId}/p2p-circuit`)) === true), 30_000, 'the tab\'s offer with its relay address')
    const ranges = primeRanges(1_000_000, 6)
    const submitted = await other.client.submitJob({ name: 'primes-from-another', runtime: 'wasi', module: primes, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), constraints: { providers: [tab] } })
    await waitFor(async () => (await other.client.job(submitted.job.id)).job.state !== 'running', 60_000, 'the other requester\'s job')
    const results = await other.client.results(submitted.job.id)
    assert.equal(results.job.state, 'completed')
    for (const task of results.tasks) {
      assert.equal(task.provider, tab)
      const range = ranges[task.idx]!
      assert.equal(Number((await stdoutOf(other.client, task.outputs)).trim()), countPrimesJs(range.from, range.to))
    }
    const seen = (await other.client.peers()).find(peer => peer.peerId === tab)!
    assert.ok(seen.connections.some(connection => connection.path === 'relayed'), `reached through the relay: ${JSON.stringify(seen.connections)}`)
    doneByTab.set(tab, doneByTab.get(tab)! + results.tasks.length)
  } finally {
    await stopNode(other)
  }
})

test('a tab keeps the sandbox contract: /in read-only, no links, memory, output, entry, fd and time limits', async () => {
  const secret = join(await tempDir('browser-in'), 'x.txt')
  await writeFile(secret, 'secret input')
  const inTab = { constraints: { providers: [browserPeers[1]!] }, maxAttempts: 1 }
  const [escaping, hog, looping, writer, folders, fds] = await Promise.all([
    run({ name: 'escape', runtime: 'wasi', module: escape, inputs: { x: secret }, range: { count: 1 }, ...inTab }),
    run({ name: 'memhog', runtime: 'wasi', module: memhog, range: { count: 1 }, limits: { memoryMb: 16 }, ...inTab }),
    run({ name: 'loop', runtime: 'wasi', module: loop, range: { count: 1 }, limits: { timeoutMs: 300 }, ...inTab }),
    // 10 MB written to /out against a 1 MB cap: stopped as it writes, not after.
    run({ name: 'bigout-capped', runtime: 'wasi', module: bigout, range: { count: 1 }, limits: { outputMb: 1 }, ...inTab }),
    // Empty folders count against the output limit too, and a task holds at most MAX_TASK_FDS fds.
    run({ name: 'mkdirs', runtime: 'wasi', module: mkdirs, range: { count: 1 }, limits: { outputMb: 1 }, ...inTab }),
    run({ name: 'holdfds', runtime: 'wasi', module: holdfds, range: { count: 1 }, ...inTab }),
  ])
  const report = await stdoutOf(client, escaping.tasks[0]!.outputs)
  assert.equal(escaping.tasks[0]!.exitCode, 0)
  assert.doesNotMatch(report, /ESCAPED/)
  assert.equal(report.match(/^blocked: /gm)?.length, 20, report)
  assert.match(report, /^read \/in\/x: secret input$/m)
  assert.deepEqual(escaping.tasks[0]!.outputs.filter(output => output.kind === 'file'), [])
  assert.equal(hog.tasks[0]!.reason, 'memory-limit', hog.tasks[0]!.message ?? '')
  assert.equal(looping.tasks[0]!.reason, 'timeout', looping.tasks[0]!.message ?? '')
  assert.equal(writer.tasks[0]!.reason, 'output-limit', writer.tasks[0]!.message ?? '')
  assert.equal(folders.tasks[0]!.reason, 'output-limit', folders.tasks[0]!.message ?? '')
  assert.match(await stdoutOf(client, fds.tasks[0]!.outputs), new RegExp(`^held ${MAX_TASK_FDS - 2} fds`))
  doneByTab.set(browserPeers[1]!, doneByTab.get(browserPeers[1]!)! + 2)
})

test('a hidden tab stops providing, and carries on once visible again', async () => {
  const { page, peerId } = tabs[0]!
  const setVisibility = (state: string) => page.evaluate(value => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => value })
    document.dispatchEvent(new Event('visibilitychange'))
  }, state)
  await setVisibility('hidden')
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'paused')
  assert.match(await page.locator('#reason').textContent() ?? '', /hidden/)
  await waitFor(async () => (await client.peers()).find(peer => peer.peerId === peerId)?.connected === false, 20_000, 'the hidden tab to hang up')
  await setVisibility('visible')
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
  await waitFor(async () => (await client.peers()).find(peer => peer.peerId === peerId)?.connected === true, 20_000, 'the tab to join again')
  // Same key, same provider: it takes work again.
  const again = await run({ name: 'primes-again', runtime: 'wasi', module: primes, tasks: [{ args: primeTaskArgs({ from: 0, to: 1000 }) }], constraints: { providers: [peerId] } })
  assert.equal(again.job.state, 'completed')
  assert.equal(Number((await stdoutOf(client, again.tasks[0]!.outputs)).trim()), countPrimesJs(0, 1000))
  doneByTab.set(peerId, doneByTab.get(peerId)! + 1)
})

test('each tab counts what it did, and stops cleanly', async () => {
  for (const tab of tabs) {
    await tab.page.waitForFunction(n => document.querySelector('#tasks-done')?.textContent === String(n), doneByTab.get(tab.peerId))
    await tab.page.screenshot({ path: join(await mkdir(OUT, { recursive: true }).then(() => OUT), 'provide.png') })
    await tab.page.click('#toggle')
    await tab.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'stopped')
  }
  await waitFor(async () => (await client.peers()).filter(peer => browserPeers.includes(peer.peerId) && peer.connected).length === 0, 20_000, 'the tabs to hang up')
})
