// `npm run bench:browser`: a browser provider (a headless chromium tab, one Web Worker) against a
// node provider (one worker thread) on the same WASI modules, one after the other in one run, each
// alone on the job: Mandelbrot tiles (compute) and tiny prime counts (per-task overhead).
import { primeRanges, primeTaskArgs } from '../examples/primes/primes.ts'
import { buildExamples } from '../scripts/build-examples.ts'
import { startLocalGrid } from '../src/devnet/index.ts'
import { ensureWebBundle } from '../src/web/index.ts'
import { launchChromium, provideLink } from '../test/browser/browser.ts'
import type { JobSpecInput } from '../src/requester/index.ts'
import type { ConunClient } from '../src/sdk/index.ts'

const quick = process.argv.includes('--quick')
const [examples] = await Promise.all([buildExamples({ log: () => {} }), ensureWebBundle()])
const wasm = (name: string) => examples.find(path => path.endsWith(`${name}.wasm`))!
const tiles = quick ? 48 : 192
const trivial = quick ? 500 : 2000
/** Each workload as a job of its first `count` tasks (the whole job, or a short warm-up). */
const workloads: Array<{ name: string, count: number, spec: (count: number) => JobSpecInput }> = [
  {
    name: `Mandelbrot, ${tiles} tiles of 80×80`,
    count: tiles,
    spec: count => ({ runtime: 'wasi', module: wasm('mandelbrot'), range: { count, args: ['--width', '1280', '--height', String(tiles / 16 * 80), '--tile-size', '80', '--tile', '{i}', '--max-iter', '500'] } }),
  },
  {
    name: `prime counts, ${trivial} tiny tasks`,
    count: trivial,
    spec: count => ({ runtime: 'wasi', module: wasm('primes'), tasks: primeRanges(trivial * 200, trivial).slice(0, count).map(range => ({ args: primeTaskArgs(range) })) }),
  },
]

/**
 * Runs `spec` on `provider` alone; answers tasks/s from submission to the last result, and the
 * mean time a task spent in the sandbox (the rest is fetching, scheduling, messages, signatures).
 */
async function measure (client: ConunClient, spec: JobSpecInput, provider: string): Promise<{ tasksPerSecond: number, sandboxMs: number }> {
  const submitted = await client.submitJob({ ...spec, constraints: { providers: [provider] } })
  let status = submitted
  while (status.job.state === 'running') {
    await new Promise(resolve => setTimeout(resolve, 50))
    status = await client.job(submitted.job.id)
  }
  if (status.job.state !== 'completed') throw new Error(`job ${status.job.id} ended ${status.job.state}`)
  const { tasks } = await client.results(submitted.job.id)
  return {
    tasksPerSecond: status.job.taskCount / ((status.job.finishedAt! - status.job.createdAt) / 1000),
    sandboxMs: tasks.reduce((sum, task) => sum + (task.wallMs ?? 0), 0) / tasks.length,
  }
}

const grid = await startLocalGrid({ providers: 1, coresPerProvider: 1 })
const browser = await launchChromium()
try {
  const client = grid.requester.client
  const page = await browser.newPage()
  await page.goto(await provideLink(browser, grid.requester))
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
  const browserPeer = (await page.locator('#peer').textContent())!
  const nodePeer = grid.providers[0]!.peerId
  while ((await client.peers()).filter(peer => peer.offer !== null).length < 2) await new Promise(resolve => setTimeout(resolve, 50))
  console.log(`conun browser benchmark — ${new Date().toISOString().slice(0, 10)}, chromium ${browser.version()} vs Node ${process.version}, one sandbox each`)
  console.log('\n| workload | browser provider | node provider | browser / node | sandbox time per task, browser / node |\n|---|---|---|---|---|')
  for (const { name, count, spec } of workloads) {
    // A short warm-up on each: module fetched and compiled, agreement made, before measuring.
    await measure(client, spec(4), nodePeer)
    await measure(client, spec(4), browserPeer)
    const onNode = await measure(client, spec(count), nodePeer)
    const inBrowser = await measure(client, spec(count), browserPeer)
    const ms = (value: number) => `${value.toFixed(2)} ms`
    console.log(`| ${name} | ${inBrowser.tasksPerSecond.toFixed(1)} tasks/s | ${onNode.tasksPerSecond.toFixed(1)} tasks/s | ${(inBrowser.tasksPerSecond / onNode.tasksPerSecond).toFixed(2)}× | ${ms(inBrowser.sandboxMs)} / ${ms(onNode.sandboxMs)} |`)
  }
} finally {
  await browser.close()
  await grid.stop()
}
