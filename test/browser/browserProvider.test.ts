// Browser tabs as providers: they join the grid over WebSockets, take agreements and run tasks in
// Web Workers, and their signed results are accepted and correct.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildExamples } from '../../scripts/build-examples.ts'
import { countPrimesJs, primeRanges, primeTaskArgs } from '../../examples/primes/primes.ts'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { ensureWebBundle } from '../../src/web/index.ts'
import { buildWasiFixture } from '../fixtures/wasi/buildFixtures.ts'
import { stdoutOf, waitFor } from '../helpers.ts'
import { launchChromium, pageUrl } from './browser.ts'

const [examples, bigout] = await Promise.all([buildExamples({ log: () => {} }), buildWasiFixture('bigout'), ensureWebBundle()])
const primes = examples.find(path => path.endsWith('primes.wasm'))!
const grid = await startLocalGrid({ providers: 1, coresPerProvider: 1 })
const browser = await launchChromium()
const client = grid.requester.client
test.after(async () => {
  await browser.close()
  await grid.stop()
})

test('two browser tabs join as providers and complete a share of the work with correct results, large outputs included', async () => {
  // Two tabs, each its own session key (sessionStorage is per tab).
  const tabs = await Promise.all([0, 1].map(async () => {
    const page = await browser.newPage()
    await page.goto(await pageUrl(grid.requester, '/provide'))
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
    return { page, peerId: await page.locator('#peer').textContent() ?? '' }
  }))
  assert.notEqual(tabs[0]!.peerId, tabs[1]!.peerId, 'each tab has its own key')
  const browserPeers = tabs.map(tab => tab.peerId)
  await waitFor(async () => (await client.peers()).filter(peer => browserPeers.includes(peer.peerId) && peer.offer?.runtimes.includes('wasi') === true).length === 2, 20_000, 'both browsers\' offers')

  // The grid's node provider takes a job of its own; this one may go to the browsers only.
  const ranges = primeRanges(20_000_000, 24)
  const [nodeJob, browserJob] = await Promise.all([
    client.submitJob({ name: 'primes-node', runtime: 'wasi', module: primes, tasks: ranges.slice(0, 8).map(range => ({ args: primeTaskArgs(range) })), constraints: { providers: [grid.providers[0]!.peerId] } }),
    client.submitJob({ name: 'primes-browsers', runtime: 'wasi', module: primes, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), constraints: { providers: browserPeers } }),
  ])
  for (const id of [nodeJob.job.id, browserJob.job.id]) await waitFor(async () => (await client.job(id)).job.state !== 'running', 120_000, `job ${id}`)

  const results = await client.results(browserJob.job.id)
  assert.equal(results.job.state, 'completed')
  const perBrowser = new Map<string, number>()
  for (const task of results.tasks) {
    assert.equal(task.state, 'done')
    assert.equal(task.exitCode, 0)
    const range = ranges[task.idx]!
    assert.equal(Number((await stdoutOf(client, task.outputs)).trim()), countPrimesJs(range.from, range.to), `task ${task.idx}`)
    perBrowser.set(task.provider!, (perBrowser.get(task.provider!) ?? 0) + 1)
  }
  assert.deepEqual([...perBrowser.keys()].sort(), [...browserPeers].sort(), 'both tabs ran tasks')
  assert.equal((await client.job(nodeJob.job.id)).job.state, 'completed')

  // A 10 MB output cannot travel inline: the tab stores it as UnixFS blocks and serves them. With
  // one replica on the node provider and one in a tab, the task is done only if both name the same CID.
  const large = await client.submitJob({ name: 'bigout', runtime: 'wasi', module: bigout, range: { count: 1 }, replication: 2, quorum: 2, constraints: { providers: [grid.providers[0]!.peerId, browserPeers[0]!] } })
  await waitFor(async () => (await client.job(large.job.id)).job.state !== 'running', 120_000, 'the bigout job')
  const [bigTask] = (await client.results(large.job.id)).tasks
  assert.equal(bigTask?.state, 'done', `${bigTask?.reason}: ${bigTask?.message}`)
  const bigFile = bigTask!.outputs.find(output => output.path === 'big.bin')!
  const bytes = await client.contentBytes(bigFile.cid)
  assert.equal(bytes.byteLength, bigFile.size)
  assert.ok(bytes.every(byte => byte === 0x62), 'the output is what the module wrote')
  perBrowser.set(browserPeers[0]!, perBrowser.get(browserPeers[0]!)! + 1)

  // Each tab counts what it did, and stops cleanly.
  for (const tab of tabs) {
    await tab.page.waitForFunction(n => document.querySelector('#tasks-done')?.textContent === String(n), perBrowser.get(tab.peerId))
    await tab.page.click('#toggle')
    await tab.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'stopped')
  }
  await waitFor(async () => (await client.peers()).filter(peer => browserPeers.includes(peer.peerId) && peer.connected).length === 0, 20_000, 'the tabs to hang up')
})
