// WebGPU jobs on a real grid: a provider that finds an adapter (here SwiftShader, with
// --software-gpu) offers webgpu and names the GPU, one started with --no-gpu does not, and a matmul
// job's tasks run on the first with results equal to a CPU computation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startLocalGrid } from '../src/devnet/index.ts'
import { detectGpu } from '../src/runtime/index.ts'
import { tempDir, waitFor } from './helpers.ts'
import { EXACT_MATMUL, exactMatrices } from './fixtures/exactMatmul.ts'
import { cpuMatmul } from '../examples/gpu-matmul/matrices.ts'

const N = 32
const { a, b } = exactMatrices(N)

if (await detectGpu() === null) {
  test('webgpu grid', t => t.skip('no WebGPU adapter here, not even SwiftShader (apt-get install libvulkan1 chromium)'))
} else {
  const dir = await tempDir('conun-webgpu-grid-')
  await writeFile(join(dir, 'matmul.wgsl'), EXACT_MATMUL)
  await writeFile(join(dir, 'a.bin'), new Uint8Array(a.buffer))
  await writeFile(join(dir, 'b.bin'), new Uint8Array(b.buffer))
  const grid = await startLocalGrid({ providers: 0, coresPerProvider: 1 })
  const [withGpu, noGpu] = await Promise.all([
    grid.addProvider({ flags: ['--runtimes', 'wasi,webgpu', '--software-gpu'] }),
    grid.addProvider({ flags: ['--runtimes', 'wasi,webgpu', '--software-gpu', '--no-gpu'] }),
  ])
  const client = grid.requester.client
  test.after(async () => {
    await grid.stop()
    await rm(dir, { recursive: true, force: true })
  })
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 2, 30_000, 'both offers')

  test('webgpu is offered, with its adapter, only by the provider that lends its GPU', async () => {
    const offers = new Map((await client.peers()).map(peer => [peer.peerId, peer.offer]))
    assert.deepEqual(offers.get(withGpu!.peerId)?.runtimes, ['wasi', 'webgpu'])
    assert.match(offers.get(withGpu!.peerId)?.gpu?.vendor ?? '', /\S/, 'the offer names the adapter')
    assert.ok((offers.get(withGpu!.peerId)?.gpu?.gflops ?? 0) > 0, 'the offer carries the GPU speed measured at start')
    assert.deepEqual(offers.get(noGpu!.peerId)?.runtimes, ['wasi'])
    assert.equal(offers.get(noGpu!.peerId)?.gpu, undefined)
  })

  test('a job asking for a faster GPU than any offered finds no provider', async () => {
    const measured = (await client.peers()).find(peer => peer.peerId === withGpu!.peerId)?.offer?.gpu?.gflops ?? 0
    const spec = {
      runtime: 'webgpu',
      module: 'matmul.wgsl',
      inputs: { 'a.bin': 'a.bin', 'b.bin': 'b.bin' },
      gpu: { buffers: [{ name: 'c', binding: 3, output: 'c.bin', size: 16 }], passes: [{ entry: 'matmul', dispatch: [1] }] },
      range: { count: 1 },
      constraints: { minGpuGflops: measured * 2 },
      waitForProvidersMs: 1000,
    }
    const submitted = await client.submitJob(spec, dir)
    await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 30_000, 'the job to end')
    const results = await client.results(submitted.job.id)
    assert.deepEqual(results.tasks.map(task => task.reason), ['no-provider'])
  })

  test('a webgpu matmul job runs on the GPU provider and equals the CPU\'s result', async () => {
    const spec = {
      runtime: 'webgpu',
      module: 'matmul.wgsl',
      inputs: { 'a.bin': 'a.bin', 'b.bin': 'b.bin' },
      gpu: {
        buffers: [
          { name: 'a', binding: 0, input: 'a.bin' },
          { name: 'b', binding: 1, input: 'b.bin' },
          { name: 'params', binding: 2, params: 'u32' },
          { name: 'c', binding: 3, output: 'c.bin', size: N * N * 4 },
        ],
        passes: [{ entry: 'matmul', dispatch: [N / 8, N / 8] }],
      },
      range: { count: 2, args: [String(N), '{i}'] },
      limits: { timeoutMs: 120_000 },
    }
    const submitted = await client.submitJob(spec, dir)
    await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 180_000, 'the webgpu job')
    const results = await client.results(submitted.job.id)
    assert.equal(results.job.state, 'completed')
    assert.equal(results.tasks.length, 2)
    for (const task of results.tasks) {
      assert.equal(task.provider, withGpu!.peerId)
      const output = task.outputs.find(output => output.kind === 'file' && output.path === 'c.bin')
      assert.ok(output !== undefined, 'c.bin came back from /out')
      const bytes = await client.contentBytes(output.cid)
      assert.deepEqual([...new Float32Array(new Uint8Array(bytes).buffer)], [...cpuMatmul(a, b, N).map(sum => sum + task.idx)])
    }
  })
}
