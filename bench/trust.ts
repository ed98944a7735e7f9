// `npm run bench:trust`: what validation costs and what it catches. Replication overhead
// (executions per accepted task) with adaptive replication after warm-up, against fixed 2×
// replication measured in the same run, and the rate of wrong results accepted, for an honest
// population and one with a third of lying providers (each lies on half its tasks, on its own).
import { join } from 'node:path'
import { countPrimesJs, primeRanges, primeTaskArgs } from '../examples/primes/primes.ts'
import { startLocalGrid } from '../src/devnet/index.ts'
import { buildExamples } from '../scripts/build-examples.ts'
import type { ConunClient } from '../src/sdk/index.ts'

const LIAR = join(import.meta.dirname, '..', 'test', 'fixtures', 'lyingProvider.ts')
const TASKS = process.argv.includes('--quick') ? 150 : 400
const primesWasm = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!

async function runJob (client: ConunClient, count: number, options: { replication: number, adaptive: boolean }) {
  const ranges = primeRanges(count * 1_000_000, count)
  const submitted = await client.submitJob({ runtime: 'wasi', module: primesWasm, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), maxAttempts: 4, ...options })
  while ((await client.job(submitted.job.id)).job.state === 'running') await new Promise(resolve => setTimeout(resolve, 50))
  const results = await client.results(submitted.job.id)
  let wrong = 0
  let accepted = 0
  for (const task of results.tasks) {
    if (task.state !== 'done') continue
    accepted++
    const range = ranges[task.idx]!
    const stdout = task.outputs.find(output => output.kind === 'stdout')!
    if (Number((await client.contentBytes(stdout.cid)).toString().trim()) !== countPrimesJs(range.from, range.to)) wrong++
  }
  const executions = results.tasks.reduce((sum, task) => sum + task.attempts, 0)
  return { overhead: executions / Math.max(accepted, 1), wrong, accepted, failed: results.tasks.length - accepted }
}

async function population (honest: number, liars: number) {
  const grid = await startLocalGrid({ providers: honest, coresPerProvider: 1 })
  try {
    for (let i = 0; i < liars; i++) await grid.addProvider({ entry: LIAR, flags: ['--lie-rate', '0.5'] })
    const client = grid.requester.client
    while ((await client.peers()).filter(peer => peer.offer !== null).length < honest + liars) await new Promise(resolve => setTimeout(resolve, 50))
    const fixed = await runJob(client, TASKS, { replication: 2, adaptive: false })
    await runJob(client, 100, { replication: 2, adaptive: true }) // warm-up: trust is earned here
    const adaptive = await runJob(client, TASKS, { replication: 2, adaptive: true })
    return { fixed, adaptive }
  } finally {
    await grid.stop()
  }
}

console.log(`conun trust benchmark — ${new Date().toISOString().slice(0, 10)}, ${TASKS} tasks per job, replication 2 / quorum 2`)
const rows: string[] = []
for (const [name, honest, liars] of [['honest (3 providers)', 3, 0], ['mixed (4 honest + 2 liars, 33 %)', 4, 2]] as const) {
  console.log(`\n${name}`)
  const { fixed, adaptive } = await population(honest, liars)
  const rate = (run: typeof fixed) => `${run.wrong}/${run.accepted} (${((run.wrong / Math.max(run.accepted, 1)) * 100).toFixed(2)} %)`
  console.log(`  fixed 2×:  ${fixed.overhead.toFixed(2)} executions per accepted task, wrong accepted ${rate(fixed)}`)
  console.log(`  adaptive:  ${adaptive.overhead.toFixed(2)} executions per accepted task, wrong accepted ${rate(adaptive)}`)
  rows.push(`| ${name} | ${adaptive.overhead.toFixed(2)} | ${fixed.overhead.toFixed(2)} | ${rate(adaptive)} | ${rate(fixed)} |`)
}
console.log('\n| population | adaptive: executions/task | fixed 2×: executions/task | adaptive: wrong accepted | fixed 2×: wrong accepted |\n|---|---|---|---|---|')
for (const row of rows) console.log(row)
