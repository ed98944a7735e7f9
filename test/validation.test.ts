// Replication and quorum against real lying providers: with 2 of 5 providers returning made-up
// outputs (each its own, so they do not collude), no wrong result is accepted, no lie is ever
// judged valid, and liars are blacklisted and dropped from the job.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLocalGrid } from '../src/devnet/index.ts'
import { buildExamples } from '../scripts/build-examples.ts'
import { countPrimesJs, primeRanges, primeTaskArgs } from '../examples/primes/primes.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { assertSignedBy, SIGNING_DOMAIN } from '../src/net/index.ts'
import { stdoutOf, waitFor } from './helpers.ts'
import type { ConunClient } from '../src/sdk/index.ts'

const LIAR = join(import.meta.dirname, 'fixtures', 'lyingProvider.ts')

/** Accepted results whose prime count differs from a plain-JS computation of the same range. */
async function wrongResults (client: ConunClient, tasks: ReadonlyArray<{ idx: number, outputs: Array<{ kind: string, cid: string }> }>, ranges: ReadonlyArray<{ from: number, to: number }>): Promise<number> {
  let wrong = 0
  for (const task of tasks) {
    const range = ranges[task.idx]!
    if (Number((await stdoutOf(client, task.outputs)).trim()) !== countPrimesJs(range.from, range.to)) wrong++
  }
  return wrong
}

test('replication 2 / quorum 2 accepts no wrong result from lying providers, and blacklists them', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const grid = await startLocalGrid({ providers: 3, coresPerProvider: 1 })
  t.after(() => grid.stop())
  const liars = [await grid.addProvider({ entry: LIAR, flags: ['--lie-rate', '1'] }), await grid.addProvider({ entry: LIAR, flags: ['--lie-rate', '1'] })]
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 5, 30_000, 'five offers')

  const dropped = new Set<string>()
  const stopEvents = await client.events(event => {
    if (event.source === 'requester' && event.type === 'provider.lost' && event.reason === 'blacklisted') dropped.add(event.provider)
  })
  t.after(stopEvents)
  // Tasks of a few ms, so the job lasts long enough for the liars to be caught while it runs.
  const ranges = primeRanges(600_000_000, 200)
  const submitted = await client.submitJob({ name: 'primes', runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), replication: 2, quorum: 2, maxAttempts: 4 })
  await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 240_000, 'the job to end')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'completed')

  const wrong = await wrongResults(client, results.tasks, ranges)
  assert.equal(wrong, 0, 'wrong results accepted')

  const peers = new Map((await client.peers()).map(peer => [peer.peerId, peer.reputation]))
  for (const liar of liars) {
    const reputation = peers.get(liar.peerId)
    assert.equal(reputation?.valid ?? 0, 0, `a lie of ${liar.name} was judged valid: ${JSON.stringify(reputation)}`)
    assert.ok((reputation?.invalid ?? 0) > 0, `liar ${liar.name} was caught: ${JSON.stringify(reputation)}`)
    // The rule: blacklisted from the third invalid result on, and not before (a liar never judged valid).
    assert.equal((reputation?.blacklistedUntil ?? 0) > Date.now(), (reputation?.invalid ?? 0) >= 3, `liar ${liar.name} is blacklisted iff it has 3 invalid results: ${JSON.stringify(reputation)}`)
  }
  assert.ok(liars.some(liar => dropped.has(liar.peerId)), 'a liar blacklisted during the job lost its session with it')
  // Every lie caught is kept with the liar's own signature over it.
  for (const liar of liars) {
    const evidence = await client.evidence(liar.peerId)
    assert.equal(evidence.length, peers.get(liar.peerId)?.invalid ?? 0, `${liar.name}: one proof per invalid result`)
    for (const proof of evidence) {
      assertSignedBy(peerIdFromString(liar.peerId), SIGNING_DOMAIN.results, proof.batch.body, proof.batch.signature)
      assert.ok(proof.batch.body.results.some(result => Number(result.taskId) === proof.idx && result.attempt === proof.attempt))
    }
  }
  for (const honest of grid.providers) assert.equal(peers.get(honest.peerId)?.invalid ?? 0, 0, `${honest.name} was never judged wrong`)
})

test('adaptive replication: once providers have earned trust, most tasks run once, and results stay right', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  // Seeded spot checks: which trusted results are still replicated is the same on every run.
  const grid = await startLocalGrid({ providers: 3, coresPerProvider: 1, requesterConfig: { scheduler: { spotCheckSeed: 1 } } })
  t.after(() => grid.stop())
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 3, 30_000, 'three offers')
  const run = async (count: number) => {
    const ranges = primeRanges(count * 1_000_000, count)
    const submitted = await client.submitJob({ runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), replication: 2, adaptive: true })
    await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 240_000, 'the job to end')
    const results = await client.results(submitted.job.id)
    assert.equal(results.job.state, 'completed')
    for (const task of results.tasks) {
      const range = ranges[task.idx]!
      assert.equal(Number((await stdoutOf(client, task.outputs)).trim()), countPrimesJs(range.from, range.to), `task ${task.idx}`)
    }
    return results.tasks.reduce((sum, task) => sum + task.attempts, 0) / results.tasks.length
  }
  const warmUp = await run(60)
  const trusted = await run(200)
  // Trust is earned during the first job (10 valid replicated results in a row), so it starts fully
  // replicated and ends mostly single; the second job runs mostly single throughout.
  assert.ok(warmUp > 1.5, `while trust is being earned, most tasks are replicated (${warmUp.toFixed(2)} runs per task)`)
  assert.ok(trusted < 1.5 && trusted < warmUp, `with trust, most tasks run once (${trusted.toFixed(2)} runs per task, ${warmUp.toFixed(2)} before)`)
})

test('colluding liars (10 % of providers, the same wrong output): replication 3 / quorum 2 accepts no wrong result', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const grid = await startLocalGrid({ providers: 18, coresPerProvider: 1 })
  t.after(() => grid.stop())
  const colluders = await Promise.all([0, 1].map(async () => grid.addProvider({ entry: LIAR, flags: ['--lie-rate', '1', '--collude'] })))
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 20, 180_000, 'twenty offers')
  const ranges = primeRanges(300_000_000, 300)
  const submitted = await client.submitJob({ name: 'primes', runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), replication: 3, quorum: 2, maxAttempts: 4 })
  await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 300_000, 'the job to end')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'completed')
  const wrong = await wrongResults(client, results.tasks, ranges)
  const peers = new Map((await client.peers()).map(peer => [peer.peerId, peer.reputation]))
  const caught = colluders.map(colluder => peers.get(colluder.peerId)?.invalid ?? 0)
  const executions = results.tasks.reduce((sum, task) => sum + task.attempts, 0)
  console.log(`colluders: ${wrong} wrong of ${results.tasks.length} accepted (${(100 * wrong / results.tasks.length).toFixed(2)} %), colluders' invalid results ${caught.join(' and ')}, ${(executions / results.tasks.length).toFixed(2)} executions per task`)
  assert.ok(wrong / results.tasks.length <= 0.001, `wrong results accepted: ${wrong}`)
  for (const colluder of colluders) assert.equal(peers.get(colluder.peerId)?.valid ?? 0, 0, `a lie of ${colluder.name} was judged valid`)
})

test('distinctHosts: replicas never share an IP address; a job that cannot place them fails, saying why, instead of hanging', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  // Every provider of a loopback grid is at 127.0.0.1: one replica per task may run, never two.
  const grid = await startLocalGrid({ providers: 2, coresPerProvider: 1 })
  t.after(() => grid.stop())
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 2, 30_000, 'two offers')
  const ranges = primeRanges(4_000_000, 4)
  const submitted = await client.submitJob({ runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), replication: 2, distinctHosts: true, waitForProvidersMs: 3000 })
  await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 60_000, 'the job to end')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'failed')
  for (const task of results.tasks) {
    assert.equal(task.attempts, 1, `task ${task.idx} ran one replica only`)
    assert.equal(task.reason, 'no-provider')
  }
})
