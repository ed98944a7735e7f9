// The Task API (src/sdk) on a real grid: map, a tree of reduces on the grid, cancellation,
// AssemblyScript compiled on the fly, and its typed errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startLocalGrid } from '../src/devnet/index.ts'
import { AssemblyScriptCompileError, JobSpecError, NoProvidersError, TaskFailedError, assemblyScriptModule, map, mapReduce, rounds } from '../src/sdk/index.ts'
import { buildExamples } from '../scripts/build-examples.ts'
import { countPrimesJs, primeRanges, primeTaskArgs } from '../examples/primes/primes.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { tempDir, waitFor } from './helpers.ts'
import type { RoundSummary, TaskProgress } from '../src/sdk/index.ts'

const SUM_SOURCE = join(import.meta.dirname, '..', 'examples', 'task-api', 'assembly', 'sumNumbers.ts')
const [examples, sleep] = await Promise.all([buildExamples({ log: () => {} }), buildWasiFixture('sleep')])
const primes = examples.find(path => path.endsWith('primes.wasm'))!
const grid = await startLocalGrid({ providers: 2, coresPerProvider: 2 })
const client = grid.requester.client
test.after(() => grid.stop())
await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 2, 30_000, 'both offers')

test('map: 200 items, each result correct, yielded in the order the tasks completed', async () => {
  const ranges = primeRanges(2_000_000, 200)
  const finished: number[] = []
  const stopEvents = await client.events(event => { if (event.source === 'requester' && event.type === 'task.done') finished.push(event.idx) })
  const yielded: number[] = []
  const progress: TaskProgress[] = []
  try {
    for await (const result of map(client, ranges, { runtime: 'wasi', module: primes, task: range => ({ args: primeTaskArgs(range) }), onProgress: p => progress.push(p) })) {
      assert.equal(result.exitCode, 0)
      assert.equal(result.item, ranges[result.idx])
      assert.equal(Number(Buffer.from(result.stdout).toString()), countPrimesJs(result.item.from, result.item.to), `item ${result.idx}`)
      assert.ok(grid.providers.some(p => p.peerId === result.provider))
      assert.equal(result.attempts, 1)
      yielded.push(result.idx)
    }
  } finally {
    stopEvents()
  }
  assert.deepEqual([...yielded].sort((a, b) => a - b), ranges.map((_, i) => i), 'every item once')
  assert.deepEqual(yielded, finished, 'in the order the node reported the tasks done')
  assert.deepEqual(progress.at(-1), { jobId: progress[0]!.jobId, total: 200, done: 200, failed: 0 })
})

test('mapReduce: prime counts summed on the grid by an AssemblyScript reduce, a tree of fan-in 4', async () => {
  const ranges = primeRanges(1_000_000, 40)
  const before = new Set((await client.jobs()).map(status => status.job.id))
  const total = await mapReduce(client, ranges, {
    map: { name: 'prime counts', runtime: 'wasi', module: primes, task: range => ({ args: primeTaskArgs(range) }) },
    reduce: { name: 'sum', runtime: 'wasi', module: SUM_SOURCE, fanIn: 4 },
  })
  assert.equal(Number(Buffer.from(await total.bytes()).toString()), countPrimesJs(0, 1_000_000))
  // 40 outputs → 10 → 3 → 1: three levels of reduce jobs, each task given its inputs by CID.
  const jobs = (await client.jobs()).filter(status => !before.has(status.job.id))
  const reduces = jobs.filter(status => status.job.spec.name?.startsWith('sum')).map(status => [status.job.spec.name, status.job.taskCount])
  assert.deepEqual(reduces.sort(), [['sum (level 1)', 10], ['sum (level 2)', 3], ['sum (level 3)', 1]])
  // The module came from the SDK's cache, compiled once and named by content.
  assert.match(await assemblyScriptModule(SUM_SOURCE), /build\/assemblyscript\/[0-9a-f]{32}\.wasm$/)
})

test('aborting the signal mid-job cancels the job and ends the iteration with the abort reason', async () => {
  const controller = new AbortController()
  let jobId = ''
  const seen: number[] = []
  await assert.rejects(async () => {
    const items = Array.from({ length: 24 }, (_, i) => i)
    for await (const result of map(client, items, { runtime: 'wasi', module: sleep, task: () => ({ args: ['1500'] }), signal: controller.signal, onProgress: p => { jobId = p.jobId } })) {
      seen.push(result.idx)
      controller.abort()
    }
  }, { name: 'AbortError' })
  assert.equal(seen.length, 1)
  await waitFor(async () => (await client.job(jobId)).job.state === 'cancelled', 30_000, 'the job cancelled')
})

test('rounds: each built from the last; a round closes on its quorum or deadline without its straggler', async () => {
  const naps = (ms: readonly number[]) => ms.map(m => ({ args: [String(m)] }))
  const job = { runtime: 'wasi' as const, module: sleep }
  const summaries: Array<RoundSummary<number>> = []
  const seen: Array<[number, number]> = []
  // Round 0 has a straggler (a minute) and closes on 3 of 4; round 1 runs the missing task again, short, with two more.
  for await (const summary of rounds(client, {
    initial: 0,
    rounds: 2,
    quorum: 3,
    round: (_, t, missing) => ({ job: { ...job, name: `round ${t}` }, tasks: naps(t === 0 ? [100, 100, 100, 60_000] : [...missing.map(() => 100), 100, 100]) }),
    combine: (results, state) => state + results.length,
    onResult: (result, t) => seen.push([t, result.idx]),
  })) summaries.push(summary)
  assert.deepEqual(summaries.map(s => [s.round, s.closedBy, s.missing, s.state]), [[0, 'quorum', [3], 3], [1, 'all', [], 6]])
  assert.deepEqual(seen, summaries.flatMap(s => s.results.map(result => [s.round, result.idx])), 'onResult saw each result of a round, in order')
  for (const result of summaries[0]!.results) assert.equal(Buffer.from(result.stdout).toString(), 'sleeping\nwoke\n')
  assert.equal((await client.jobs()).find(status => status.job.spec.name === 'round 0')?.job.state, 'cancelled', 'the straggler was cancelled with its round')

  const late = []
  for await (const summary of rounds(client, { initial: 0, rounds: 1, deadlineMs: 15_000, round: () => ({ job, tasks: naps([100, 100, 60_000]) }), combine: results => results.length })) late.push(summary)
  assert.deepEqual(late.map(s => [s.closedBy, s.missing, s.state]), [['deadline', [2], 2]])
})

test('typed errors: a bad module, no providers, a bad spec, AssemblyScript that does not compile', async (t) => {
  const dir = await tempDir('task-api')
  t.after(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'bad.wasm'), 'not a WebAssembly module')
  const drain = async (iterable: AsyncIterable<unknown>) => { for await (const _ of iterable) { /* drain */ } }
  const bad = await drain(map(client, [1, 2], { runtime: 'wasi', module: join(dir, 'bad.wasm'), task: () => ({}) })).then(() => undefined, (error: unknown) => error)
  assert.ok(bad instanceof TaskFailedError, String(bad))
  assert.equal(bad.reason, 'invalid-module')
  assert.match(bad.message, /build it for wasm32-wasip1/)

  const nobody = await drain(map(client, [1], { runtime: 'wasi', module: primes, task: () => ({ args: primeTaskArgs({ from: 0, to: 10 }) }), constraints: { providers: ['16Uiu2HAmNoSuchProvider'] }, waitForProvidersMs: 500 })).then(() => undefined, (error: unknown) => error)
  assert.ok(nobody instanceof NoProvidersError, String(nobody))
  assert.match(nobody.message, /conun peers/)

  await assert.rejects(drain(map(client, [1], { runtime: 'wasi', module: primes, task: () => ({}), limits: { timeoutMs: 1 } })), JobSpecError)

  await writeFile(join(dir, 'broken.ts'), 'export function f(): i32 { return "text" }\n')
  await assert.rejects(drain(map(client, [1], { runtime: 'wasi', module: join(dir, 'broken.ts'), task: () => ({}) })), (error: unknown) => {
    assert.ok(error instanceof AssemblyScriptCompileError)
    assert.match(error.details, /broken\.ts/)
    return true
  })
})
