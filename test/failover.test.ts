// Killing a provider (SIGKILL) in the middle of a job: its tasks go to the others and the job
// still completes with exactly the right outputs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startLocalGrid } from '../src/devnet/index.ts'
import { buildExamples } from '../scripts/build-examples.ts'
import { countPrimesJs, primeRanges, primeTaskArgs } from '../examples/primes/primes.ts'
import { stdoutOf, waitFor } from './helpers.ts'

test('a provider killed with SIGKILL mid-job: its tasks are rescheduled and the job completes correctly', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const grid = await startLocalGrid({ providers: 3, coresPerProvider: 1 })
  t.after(() => grid.stop())
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 3, 20_000, 'three offers')

  // Tasks of ~0.1 s each, so the job is still running when the victim dies. π(10^10) is known
  // exactly, and a sample of tasks is recomputed in plain JS.
  const ranges = primeRanges(10_000_000_000, 60)
  const done = new Map<string, number>()
  const stopEvents = await client.events(event => {
    if (event.source === 'requester' && event.type === 'task.done') done.set(event.provider, (done.get(event.provider) ?? 0) + 1)
  })
  t.after(stopEvents)
  const submitted = await client.submitJob({ name: 'primes', runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })) })

  const victim = grid.providers[0]!
  await waitFor(() => (done.get(victim.peerId) ?? 0) >= 2, 60_000, 'the victim to finish a few tasks')
  const status = await client.job(submitted.job.id)
  assert.equal(status.job.state, 'running', 'the job is still running when the provider dies')
  assert.ok((status.providers.find(p => p.peerId === victim.peerId)?.inFlight ?? 0) > 0, 'the victim holds tasks when it dies')
  victim.process.kill('SIGKILL')
  await victim.exited

  await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 180_000, 'the job to end')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'completed')
  let total = 0
  for (const task of results.tasks) {
    assert.equal(task.state, 'done')
    total += Number((await stdoutOf(client, task.outputs)).trim())
  }
  assert.equal(total, 455_052_511, 'π(10^10)')
  for (const idx of [0, 17, 42, 59]) {
    const range = ranges[idx]!
    assert.equal(Number((await stdoutOf(client, results.tasks[idx]!.outputs)).trim()), countPrimesJs(range.from, range.to), `task ${idx}`)
  }
  const retried = results.tasks.filter(task => task.attempts > 1)
  assert.ok(retried.length > 0, 'some tasks needed a second attempt')
  for (const task of retried) assert.notEqual(task.provider, victim.peerId, `task ${task.idx} was finished elsewhere`)
})

test('a provider that stops answering (SIGSTOP: its connection stays open) loses its tasks on the heartbeat, not at their deadlines', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const grid = await startLocalGrid({ providers: 2, coresPerProvider: 1 })
  const victim = grid.providers[0]!
  t.after(async () => {
    victim.process.kill('SIGCONT')
    await grid.stop()
  })
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 2, 20_000, 'two offers')
  const ranges = primeRanges(2_000_000_000, 40)
  const done = new Map<string, number>()
  const lost: string[] = []
  const stopEvents = await client.events(event => {
    if (event.source === 'requester' && event.type === 'task.done') done.set(event.provider, (done.get(event.provider) ?? 0) + 1)
    if (event.source === 'requester' && event.type === 'provider.lost' && event.provider === victim.peerId) lost.push(event.reason)
  })
  t.after(stopEvents)
  // A ten-minute timeout: only the heartbeat can take the victim's tasks away in time.
  const submitted = await client.submitJob({ name: 'primes', runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), limits: { timeoutMs: 600_000 } })
  await waitFor(() => (done.get(victim.peerId) ?? 0) >= 2, 60_000, 'the victim to finish a few tasks')
  victim.process.kill('SIGSTOP')
  await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 120_000, 'the job to end without the stopped provider')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'completed')
  assert.equal(results.tasks.reduce((sum, task) => sum + Number(task.state === 'done'), 0), 40)
  // Found unreachable by the session's heartbeat or by libp2p's ping of the connection, whichever came first.
  assert.ok(lost.some(reason => /heartbeat|could not reach it again/.test(reason)), `the victim was dropped as unreachable: ${lost.join('; ')}`)
})
