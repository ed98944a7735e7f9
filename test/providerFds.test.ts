// A task that opens every fd it can, on a real provider process: it gets its cap and no more, and
// while it holds them the provider goes on serving libp2p (a paid job's tasks and receipts), SQLite
// (where the receipts are kept) and its local API.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { startLocalGrid } from '../src/devnet/index.ts'
import { MAX_TASK_FDS } from '../src/runtime/index.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { stdoutOf, waitFor } from './helpers.ts'

const PRICE = '0.001'
const [holdfds, echo] = await Promise.all([buildWasiFixture('holdfds'), buildWasiFixture('echo')])
const grid = await startLocalGrid({ providers: 1, coresPerProvider: 2, providerFlags: ['--price', PRICE] })
test.after(() => grid.stop())
const [provider] = grid.providers as [typeof grid.providers[number]]
const client = grid.requester.client
await waitFor(async () => (await client.peers()).some(peer => peer.offer !== null), 20_000, 'the provider\'s offer')

/** How many fds the holdfds task got: it marks the count as a folder in its /out, on the provider's disk. */
async function fdsHeld (): Promise<number> {
  const sandbox = join(provider.dataDir, 'sandbox')
  let held: number | undefined
  await waitFor(async () => {
    for (const folder of (await readdir(sandbox).catch(() => [])).filter(name => name.endsWith('-out'))) {
      const mark = (await readdir(join(sandbox, folder)).catch(() => [])).find(name => name.startsWith('held-'))
      if (mark !== undefined) held = Number(mark.slice('held-'.length))
    }
    return held !== undefined
  }, 60_000, 'the task to hold all the fds it can')
  return held!
}

test('a task holding every fd it can open gets its cap, and its provider keeps serving libp2p, SQLite and its API', async () => {
  const hog = await client.submitJob({ name: 'holdfds', runtime: 'wasi', module: holdfds, tasks: [{ args: ['/in', '600000'] }], limits: { timeoutMs: 600_000 }, price: PRICE, maxAttempts: 1 })
  const held = await fdsHeld()
  const preopens = 2
  assert.equal(held + preopens, MAX_TASK_FDS, `the task held ${held} fds besides its preopens`)

  // With the task holding them: a paid job runs on the same provider, receipts and all.
  const paid = await client.submitJob({ name: 'echo', runtime: 'wasi', module: echo, range: { count: 4, args: ['n', '{i}'] }, price: PRICE })
  await waitFor(async () => (await client.job(paid.job.id)).job.state !== 'running', 120_000, 'the paid job')
  const results = await client.results(paid.job.id)
  assert.equal(results.job.state, 'completed')
  for (const task of results.tasks) {
    assert.equal(task.provider, provider.peerId)
    assert.match(await stdoutOf(client, task.outputs), new RegExp(`argv\\[2\\]=${task.idx}`))
  }
  await waitFor(async () => (await provider.client.wallet()).receipts.some(receipt => receipt.jobId === paid.job.id), 60_000, 'the provider to keep its receipt')
  assert.equal((await client.job(hog.job.id)).job.state, 'running', 'the task still held its fds meanwhile')
  await client.cancel(hog.job.id)
})
