// The requester killed with SIGKILL at several points of one job, and started again on its data
// dir each time: the job resumes from SQLite and ends with exactly one accepted result per task.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startLocalGrid } from '../src/devnet/index.ts'
import { buildExamples } from '../scripts/build-examples.ts'
import { primeRanges, primeTaskArgs } from '../examples/primes/primes.ts'
import { stdoutOf, waitFor } from './helpers.ts'

test('a requester killed at five points of a job resumes it and ends with exactly the right results', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const grid = await startLocalGrid({ providers: 2, coresPerProvider: 1 })
  t.after(() => grid.stop())
  let requester = grid.requester
  await waitFor(async () => (await requester.client.peers()).filter(peer => peer.offer !== null).length === 2, 20_000, 'two offers')

  const ranges = primeRanges(10_000_000_000, 60)
  const submitted = await requester.client.submitJob({ name: 'primes', runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })) })
  const jobId = submitted.job.id

  // Right after submission, then at growing numbers of finished tasks.
  for (const killAt of [0, 8, 18, 30, 42]) {
    await waitFor(async () => {
      const status = await requester.client.job(jobId)
      return status.job.state !== 'running' || status.counts.done >= killAt
    }, 120_000, `${killAt} tasks done`)
    assert.equal((await requester.client.job(jobId)).job.state, 'running', `the job is still running at kill point ${killAt}`)
    requester.process.kill('SIGKILL')
    await requester.exited
    requester = await grid.restart(requester)
  }

  await waitFor(async () => (await requester.client.job(jobId)).job.state !== 'running', 180_000, 'the job to end')
  const results = await requester.client.results(jobId)
  assert.equal(results.job.state, 'completed')
  assert.equal(results.tasks.length, 60)
  let total = 0
  for (const task of results.tasks) {
    assert.equal(task.state, 'done')
    assert.equal(task.outputs.filter(output => output.kind === 'stdout').length, 1, `task ${task.idx} has one accepted result`)
    total += Number((await stdoutOf(requester.client, task.outputs)).trim())
  }
  assert.equal(total, 455_052_511, 'π(10^10)')
})
