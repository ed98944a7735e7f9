// compare.tolerance on a real grid: two providers run a module whose float output honestly differs
// in its last bits from run to run (sums taken in a random order, as a GPU's parallel reduction
// does). Replicated with a tolerance, the replicas agree and the job completes; without one, they
// never agree and every task fails no-quorum. Replicas that came back before a requester restart are
// compared within tolerance after it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startLocalGrid } from '../src/devnet/index.ts'
import { compileAssemblyScript } from '../src/sdk/index.ts'
import { stdoutOf, tempDir, waitFor } from './helpers.ts'
import type { TaskOutcome } from '../src/requester/index.ts'

const ROOT = join(import.meta.dirname, '..')
/** 20,000 f32 sums: 80 KB, over the 64 KiB that travel inside a result, so the requester fetches them. */
const COUNT = 20_000
const TERMS = 64

const exactSums = Array.from({ length: COUNT }, (_, i) => {
  let sum = 0
  for (let k = 0; k < TERMS; k++) sum += 1 / (i + k + 1)
  return sum
})

const TOLERANCE = { tolerance: { 'sums.bin': { type: 'f32', rel: 1e-5 } } }

async function sumsModule (dir: string): Promise<void> {
  const { wasm } = await compileAssemblyScript(join(import.meta.dirname, 'fixtures', 'assembly', 'reorderedSums.ts'), ROOT)
  await writeFile(join(dir, 'sums.wasm'), wasm)
}

const sumsJob = (compare: object | undefined) =>
  ({ runtime: 'wasi', module: 'sums.wasm', range: { count: 3, args: [String(COUNT)] }, replication: 2, quorum: 2, maxAttempts: 1, ...(compare === undefined ? {} : { compare }) })

test('float outputs that differ in their last bits agree under compare.tolerance, and not without it', async (t) => {
  const dir = await tempDir('tolerance')
  await sumsModule(dir)
  const grid = await startLocalGrid({ providers: 2, coresPerProvider: 1 })
  t.after(async () => {
    await grid.stop()
    await rm(dir, { recursive: true, force: true })
  })
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 2, 30_000, 'both offers')
  const run = async (compare: object | undefined) => {
    const submitted = await client.submitJob(sumsJob(compare), dir)
    await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 120_000, 'the job to end')
    return client.results(submitted.job.id)
  }

  const tolerant = await run(TOLERANCE)
  assert.equal(tolerant.job.state, 'completed', JSON.stringify(tolerant.tasks.map(task => [task.reason, task.message])))
  for (const task of tolerant.tasks) {
    assert.equal(await stdoutOf(client, task.outputs), `wrote ${COUNT} sums\n`)
    const file = task.outputs.find(output => output.kind === 'file' && output.path === 'sums.bin')
    assert.ok(file !== undefined, 'sums.bin came back')
    const sums = new Float32Array(new Uint8Array(await client.contentBytes(file.cid)).buffer)
    const worst = Math.max(...Array.from(sums, (value, i) => Math.abs(value - exactSums[i]!) / exactSums[i]!))
    assert.ok(worst < 1e-5, `the accepted sums are within 1e-5 of the exact ones (worst ${worst})`)
  }
  const reputations = (await client.peers()).map(peer => peer.reputation)
  assert.deepEqual(reputations.map(reputation => [reputation?.valid, reputation?.invalid]), [[3, 0], [3, 0]], 'both providers were right on every task')

  const exact = await run(undefined)
  assert.equal(exact.job.state, 'failed')
  assert.deepEqual(exact.tasks.map(task => task.reason), ['no-quorum', 'no-quorum', 'no-quorum'], 'byte for byte, the honest replicas never agree')
})

test('replicas that returned before a requester restart are compared within tolerance after it', async (t) => {
  const dir = await tempDir('tolerance-restart')
  await sumsModule(dir)
  // One provider: every task's first replica returns, and the second waits for another provider.
  const grid = await startLocalGrid({ providers: 1, coresPerProvider: 1 })
  t.after(async () => {
    await grid.stop()
    await rm(dir, { recursive: true, force: true })
  })
  let requester = grid.requester
  await waitFor(async () => (await requester.client.peers()).filter(peer => peer.offer !== null).length === 1, 30_000, 'the offer')
  const jobId = (await requester.client.submitJob(sumsJob(TOLERANCE), dir)).job.id
  const returned = async () => ((await requester.client.results(jobId)).tasks as Array<TaskOutcome & { replicasReturned: number }>).map(task => task.replicasReturned)
  await waitFor(async () => (await returned()).every(count => count === 1), 60_000, 'one replica of every task')

  requester.process.kill('SIGKILL')
  await requester.exited
  requester = await grid.restart(requester)
  await grid.addProvider()
  await waitFor(async () => (await requester.client.job(jobId)).job.state !== 'running', 120_000, 'the job to end')
  // With maxAttempts 1, a second replica compared by bytes with the first would end the task no-quorum.
  const results = await requester.client.results(jobId)
  assert.equal(results.job.state, 'completed', JSON.stringify(results.tasks.map(task => [task.reason, task.message])))
  const reputations = (await requester.client.peers()).map(peer => [peer.reputation?.valid, peer.reputation?.invalid])
  assert.deepEqual(reputations, [[3, 0], [3, 0]], 'the replicas before and after the restart agreed on every task')
})
