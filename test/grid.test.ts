// A real grid on loopback: a requester and two providers as separate OS processes, talking libp2p.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startLocalGrid } from '../src/devnet/index.ts'
import { buildExamples } from '../scripts/build-examples.ts'
import { countPrimesJs, primeRanges, primeTaskArgs } from '../examples/primes/primes.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { stdoutOf, tempDir, waitFor } from './helpers.ts'

const [examples, loop, echo, transform] = await Promise.all([buildExamples(), buildWasiFixture('loop'), buildWasiFixture('echo'), buildWasiFixture('transform')])
const primesModule = examples.find(path => path.endsWith('primes.wasm'))!
const grid = await startLocalGrid({ providers: 2, coresPerProvider: 2 })
const client = grid.requester.client
test.after(() => grid.stop())

await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 2, 20_000, 'both offers')

test('a job of 60 tasks completes on both providers with outputs equal to a local computation', async () => {
  // ~10 ms tasks: enough work that the second provider, linked a moment later, gets its share.
  const ranges = primeRanges(600_000_000, 60)
  const submitted = await client.submitJob({ name: 'primes', runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })) })
  const results = await waitForResults(submitted.job.id)
  assert.equal(results.job.state, 'completed')
  assert.equal(results.tasks.length, 60)
  const perProvider = new Map<string, number>()
  for (const task of results.tasks) {
    assert.equal(task.state, 'done')
    assert.equal(task.exitCode, 0)
    const range = ranges[task.idx]!
    assert.equal(Number((await stdoutOf(client, task.outputs)).trim()), countPrimesJs(range.from, range.to), `task ${task.idx}`)
    perProvider.set(task.provider!, (perProvider.get(task.provider!) ?? 0) + 1)
  }
  assert.deepEqual([...perProvider.keys()].sort(), grid.providers.map(p => p.peerId).sort(), 'tasks ran on both providers')
  // Each provider's record on this node counts the results it delivered.
  for (const peer of (await client.peers()).filter(p => perProvider.has(p.peerId))) {
    assert.equal(peer.reputation?.valid, perProvider.get(peer.peerId))
    assert.equal(peer.reputation?.streak, perProvider.get(peer.peerId))
  }
})

test('hostile tasks fail with a reason and the providers go on serving', async () => {
  const looping = await client.submitJob({ name: 'loop', runtime: 'wasi', module: loop, range: { count: 4 }, limits: { timeoutMs: 300 }, maxAttempts: 2 })
  const failed = await waitForResults(looping.job.id)
  assert.equal(failed.job.state, 'failed')
  for (const task of failed.tasks) {
    assert.equal(task.state, 'failed')
    assert.equal(task.reason, 'timeout')
    assert.equal(task.attempts, 2)
  }
  const honest = await client.submitJob({ name: 'echo', runtime: 'wasi', module: echo, range: { count: 20, args: ['n', '{i}'] } })
  const ok = await waitForResults(honest.job.id)
  assert.equal(ok.job.state, 'completed')
  assert.match(await stdoutOf(client, ok.tasks[13]!.outputs), /argv\[2\]=13/)
  for (const provider of grid.providers) assert.equal(provider.process.exitCode, null, `${provider.name} is still running`)
})

test('a small output, which comes back inside its result, is an input of the next job by its CID', async (t) => {
  const dir = await tempDir('chain')
  t.after(() => rm(dir, { recursive: true, force: true }))
  const original = Buffer.from('an output small enough to travel inline, then taken by CID\n'.repeat(20))
  await writeFile(join(dir, 'x'), original)
  const first = await waitForResults((await client.submitJob({ name: 'xor', runtime: 'wasi', module: transform, inputs: { x: join(dir, 'x') }, tasks: [{ args: ['/in/x', '/out/y'] }] })).job.id)
  const y = first.tasks[0]!.outputs.find(output => output.kind === 'file')!
  assert.equal(y.size, original.length)
  // XORing twice gives the original back: the second job read the first one's output.
  const second = await waitForResults((await client.submitJob({ name: 'xor-again', runtime: 'wasi', module: transform, inputs: { y: y.cid }, tasks: [{ args: ['/in/y', '/out/z'] }] })).job.id)
  assert.equal(second.job.state, 'completed', second.tasks[0]!.message ?? '')
  assert.deepEqual(await client.contentBytes(second.tasks[0]!.outputs.find(output => output.kind === 'file')!.cid), original)
})

async function waitForResults (jobId: string) {
  await waitFor(async () => (await client.job(jobId)).job.state !== 'running', 120_000, `job ${jobId}`)
  return client.results(jobId)
}
