// GPU tasks in a browser tab: a tab whose browser gives a WebGPU adapter offers `webgpu` and names
// the adapter, runs matmul tasks with the node runtime's plan semantics and the results of a CPU
// computation, agrees with a node provider on the same task, and survives a shader that never ends
// (failed `timeout`; its GPU off the market while the shader runs; its next task served); a tab
// without an adapter offers `wasi` only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cpuMatmul, MATMUL_WGSL, matmulPlan, randomMatrix, wrongElements } from '../../examples/gpu-matmul/matrices.ts'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { detectGpu } from '../../src/runtime/index.ts'
import { buildWasiFixture } from '../../src/runtime/wasi/fixtures/buildFixtures.ts'
import { ensureWebBundle } from '../../src/web/index.ts'
import { stdoutOf, tempDir, waitFor } from '../helpers.ts'
import { launchChromium, provideLink } from './browser.ts'
import { ENDLESS } from '../fixtures/hostileGpuTasks.ts'
import type { Browser, Page } from 'playwright-core'
import type { JobSpecInput } from '../../src/requester/index.ts'

const N = 64
// The node provider below needs a WebGPU adapter of its own (SwiftShader through Dawn).
if (await detectGpu() === null) {
  test('GPU tasks in a tab', t => t.skip('no WebGPU adapter here, not even SwiftShader (apt-get install libvulkan1 chromium)'))
} else {
  const dir = await tempDir('conun-gpu-tab-')
  const a = randomMatrix(N, N, 1)
  const b = randomMatrix(N, N, 2)
  const expected = cpuMatmul(a, b, N)
  await writeFile(join(dir, 'a.bin'), new Uint8Array(a.buffer))
  await writeFile(join(dir, 'b.bin'), new Uint8Array(b.buffer))
  await writeFile(join(dir, 'endless.wgsl'), ENDLESS.wgsl)
  await writeFile(join(dir, 'wild.wgsl'), (await readFile(MATMUL_WGSL, 'utf8')).replace('c[id.y * n + id.x] = sum;', 'c[id.y * n + id.x + 100000000u] = sum + a[4000000000u];'))
  const [echo] = await Promise.all([buildWasiFixture('echo'), ensureWebBundle()])
  const grid = await startLocalGrid({ providers: 0, coresPerProvider: 1 })
  const browsers: Browser[] = []
  test.after(async () => {
    await Promise.all(browsers.map(browser => browser.close()))
    await grid.stop()
    await rm(dir, { recursive: true, force: true })
  })
  const nodeGpu = await grid.addProvider({ flags: ['--runtimes', 'webgpu', '--software-gpu'] })
  const client = grid.requester.client
  const [withGpu, withoutGpu] = await Promise.all([launchChromium({ webgpu: true }), launchChromium()])
  browsers.push(withGpu, withoutGpu)
  const link = await provideLink(withGpu, grid.requester)
  const openTab = async (browser: Browser): Promise<{ page: Page, peerId: string }> => {
    const page = await browser.newPage()
    await page.goto(link)
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
    return { page, peerId: await page.locator('#peer').textContent() ?? '' }
  }
  const [gpuTab, plainTab] = await Promise.all([openTab(withGpu), openTab(withoutGpu)])
  await waitFor(async () => (await client.peers()).filter(peer => [gpuTab.peerId, plainTab.peerId, nodeGpu.peerId].includes(peer.peerId) && peer.offer !== null).length === 3, 30_000, 'the offers of both tabs and the node')

  /** A matmul job of all rows in one task: C = A × B. */
  const matmul = (name: string, providers: string[], extra: Partial<JobSpecInput> = {}): JobSpecInput => ({
    name,
    runtime: 'webgpu',
    module: MATMUL_WGSL,
    gpu: matmulPlan(N, N),
    inputs: { 'a.bin': join(dir, 'a.bin'), 'b.bin': join(dir, 'b.bin') },
    tasks: [{ args: [String(N)] }],
    limits: { timeoutMs: 120_000 },
    constraints: { providers },
    maxAttempts: 1,
    ...extra,
  } as JobSpecInput)
  const run = async (spec: JobSpecInput) => {
    const submitted = await client.submitJob(spec)
    await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 180_000, `job ${spec.name}`)
    return client.results(submitted.job.id)
  }
  const product = async (results: Awaited<ReturnType<typeof run>>) => {
    const [task] = results.tasks
    assert.equal(task?.state, 'done', `${task?.reason}: ${task?.message}`)
    const output = task!.outputs.find(output => output.kind === 'file' && output.path === 'c.bin')
    assert.ok(output !== undefined, 'c.bin came back from /out')
    return { provider: task!.provider, bytes: new Uint8Array(await client.contentBytes(output.cid)) }
  }
  let gpuTasksInTab = 0

  test('a tab with an adapter offers webgpu, names the adapter and its measured speed; one without offers wasi only', async () => {
    const offers = new Map((await client.peers()).map(peer => [peer.peerId, peer.offer]))
    assert.deepEqual(offers.get(gpuTab.peerId)?.runtimes, ['wasi', 'webgpu'])
    assert.equal(offers.get(gpuTab.peerId)?.gpu?.architecture, 'swiftshader')
    assert.ok(offers.get(gpuTab.peerId)!.gpu!.maxWorkgroupsPerDimension > 0)
    // Measured in the tab with the node providers' kernel, so minGpuGflops jobs can go to tabs too.
    assert.ok((offers.get(gpuTab.peerId)!.gpu!.gflops ?? 0) > 0, 'the tab measured its GFLOP/s')
    assert.deepEqual(offers.get(plainTab.peerId)?.runtimes, ['wasi'])
    assert.equal(offers.get(plainTab.peerId)?.gpu, undefined)
  })

  test('a tab runs a webgpu matmul whose result is the CPU\'s, within 1e-3', async () => {
    const { provider, bytes } = await product(await run(matmul('matmul-in-tab', [gpuTab.peerId])))
    assert.equal(provider, gpuTab.peerId)
    assert.equal(wrongElements(new Float32Array(bytes.buffer), expected), 0)
    gpuTasksInTab++
  })

  test('a tab and a node provider run the same task and agree under compare.tolerance', async () => {
    // Two replicas, always on two providers (so one here, one there), both needed: the task is done
    // only if the tab's c.bin and the node's agree element-wise within the job's f32 tolerance (the
    // page's count shows the tab's share). Both run SwiftShader here, so their bytes happen to be
    // equal too; on different GPUs float results differ in the last bits, which the tolerance allows.
    const results = await run(matmul('matmul-tab-and-node', [gpuTab.peerId, nodeGpu.peerId], { replication: 2, quorum: 2, compare: { tolerance: { 'c.bin': { type: 'f32', rel: 1e-5, abs: 1e-6 } } } }))
    assert.equal(results.tasks[0]?.state, 'done', results.tasks[0]?.message ?? '')
    const { bytes } = await product(results)
    assert.equal(wrongElements(new Float32Array(bytes.buffer), expected), 0)
    gpuTasksInTab++
  })

  test('a tab refuses what a node refuses, with the same reasons, and keeps wild indexing inside the buffers', async () => {
    const plan = matmulPlan(N, N)
    const inTab = (name: string, extra: Partial<JobSpecInput>) => run(matmul(name, [gpuTab.peerId], extra))
    const [overMemory, overOutput, overDispatch, wild] = await Promise.all([
      inTab('over-memory', { gpu: { ...plan, buffers: [...plan.buffers, { name: 'scratch', binding: 4, size: 2 * 1024 * 1024 }] }, limits: { memoryMb: 1, timeoutMs: 120_000 } }),
      inTab('over-output', { gpu: { ...plan, buffers: plan.buffers.map(buffer => 'output' in buffer ? { ...buffer, size: 2 * 1024 * 1024 } : buffer) }, limits: { outputMb: 1, timeoutMs: 120_000 } }),
      inTab('over-dispatch', { gpu: { ...plan, passes: [{ entry: 'matmul', dispatch: [1_000_000] }] } }),
      inTab('wild', { module: join(dir, 'wild.wgsl') }),
    ])
    assert.equal(overMemory.tasks[0]?.reason, 'memory-limit', overMemory.tasks[0]?.message ?? '')
    assert.equal(overOutput.tasks[0]?.reason, 'output-limit', overOutput.tasks[0]?.message ?? '')
    assert.equal(overDispatch.tasks[0]?.reason, 'invalid-module', overDispatch.tasks[0]?.message ?? '')
    assert.match(overDispatch.tasks[0]?.message ?? '', /workgroups; this GPU allows \d+ per dimension/)
    // Writes and reads far past the ends: WGSL clamps or drops them, and the kernel ends normally.
    const { bytes } = await product(wild)
    assert.equal(bytes.byteLength, N * N * 4)
    gpuTasksInTab++
  })

  test('an endless shader in a tab fails timeout; the tab then lends no GPU but serves its next task', async () => {
    const endless = await run({
      name: 'endless-in-tab',
      runtime: 'webgpu',
      module: join(dir, 'endless.wgsl'),
      gpu: ENDLESS.plan,
      tasks: [{ args: [...ENDLESS.params ?? []] }],
      limits: { timeoutMs: 3000 },
      constraints: { providers: [gpuTab.peerId] },
      maxAttempts: 1,
    } as JobSpecInput)
    assert.equal(endless.tasks[0]?.reason, 'timeout', endless.tasks[0]?.message ?? '')
    // The shader still runs (nothing in a page can stop it), so the tab takes its GPU off the market.
    await waitFor(async () => (await client.peers()).find(peer => peer.peerId === gpuTab.peerId)?.offer?.runtimes.join() === 'wasi', 30_000, 'the tab\'s offer without webgpu')
    const next = await run({ name: 'echo-after-endless', runtime: 'wasi', module: echo, tasks: [{ args: ['after'] }], constraints: { providers: [gpuTab.peerId] }, maxAttempts: 1 })
    assert.equal(next.tasks[0]?.exitCode, 0, `${next.tasks[0]?.reason}: ${next.tasks[0]?.message}`)
    assert.match(await stdoutOf(client, next.tasks[0]!.outputs), /^argv\[1\]=after$/m)
  })

  test('the tab counts the GPU tasks it did', async () => {
    await gpuTab.page.waitForFunction(n => document.querySelector('#gpu-tasks')?.textContent === String(n), gpuTasksInTab)
    assert.equal(await plainTab.page.locator('#gpu-tasks').textContent(), '0')
  })
}
