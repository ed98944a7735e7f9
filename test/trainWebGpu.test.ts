// Data-parallel training with the WGSL kernel (examples/train/mlp.wgsl) on two providers that offer
// webgpu on SwiftShader: a step's replicas agree bit for bit across the two and with the WASI kernel
// to rounding, and training through the grid with replication 2 learns, landing within
// WEBGPU_TOLERANCE of the WASI kernel's one-process replay.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLocalGrid } from '../src/devnet/index.ts'
import { detectGpu } from '../src/runtime/index.ts'
import { exampleRunner } from '../examples/runExample.ts'
import { firstRecords, loadMnist, RECORD_BYTES } from '../examples/train/mnist.ts'
import { initialMlpWeights, mlpGpuParams, mlpGpuPlan, mlpTrainArgs, MLP_WGSL } from '../examples/train/mlp.ts'
import { largestDifference, runTraining, trainInOneProcess, WEBGPU_TOLERANCE } from '../examples/train/train.ts'
import { waitFor } from './helpers.ts'
import { stepOnTwoProviders } from './trainingStep.ts'
import type { TrainingRun } from '../examples/train/train.ts'

if (await detectGpu() === null) {
  test('training on webgpu', t => t.skip('no WebGPU adapter here, not even SwiftShader (apt-get install libvulkan1 chromium)'))
} else {
  const grid = await startLocalGrid({ providers: 2, coresPerProvider: 1, providerFlags: ['--runtimes', 'webgpu', '--software-gpu'] })
  const client = grid.requester.client
  test.after(() => grid.stop())
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 2, 30_000, 'two webgpu offers')

  test('a WGSL training step: the same bytes on both providers, accepted as one under replication, and the WASI kernel\'s delta to rounding', async (t) => {
    const hidden = 32
    const weights = initialMlpWeights(hidden)
    const records = firstRecords((await loadMnist()).train, 400)
    const steps = { hidden, steps: 10, batch: 32, learningRate: 0.1, seed: 3, offset: 0, shift: 2 }
    const weightsRef = await client.uploadBytes(new Uint8Array(weights.buffer))
    const shardRef = await client.uploadBytes(records)
    const job = { runtime: 'webgpu' as const, module: MLP_WGSL, gpu: mlpGpuPlan(hidden, records.byteLength / RECORD_BYTES), inputs: { weights: weightsRef.cid } }
    const step = { args: mlpGpuParams(steps), inputs: { shard: shardRef.cid } }
    const [a, b] = grid.providers
    const { onA, onB, replicated } = await stepOnTwoProviders(client, [a!, b!], job, step)
    assert.equal(onA.provider, a!.peerId)
    assert.equal(onB.provider, b!.peerId)
    assert.equal(onA.delta.size, weights.byteLength)
    assert.equal(onB.delta.cid, onA.delta.cid, 'the same bytes from both providers')
    assert.equal(replicated.delta.cid, onA.delta.cid, 'two replicas agreed on the same delta')

    // The WASI kernel, here in one process, on the same weights and samples.
    const dir = await mkdtemp(join(tmpdir(), 'conun-train-webgpu-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    await writeFile(join(dir, 'weights'), new Uint8Array(weights.buffer))
    await writeFile(join(dir, 'shard'), records)
    const runner = await exampleRunner('mlp')
    t.after(() => runner.close())
    const wasi = await runner.run(mlpTrainArgs(steps), { inputs: [{ name: 'weights', path: join(dir, 'weights') }, { name: 'shard', path: join(dir, 'shard') }] })
    assert.equal(wasi.exitCode, 0, wasi.stderr)
    const fromWasi = new Float32Array(wasi.files.get('delta')!.slice().buffer)
    const fromGpu = new Float32Array((await onA.delta.bytes()).slice().buffer)
    assert.ok(largestDifference(fromGpu, new Float32Array(fromGpu.length)) > 1e-3, 'the step changed the weights')
    // Measured: 4.5e-8 apart after 5 steps of a 784-256-10 net, 9.7e-8 after 25.
    assert.ok(largestDifference(fromGpu, fromWasi) < 1e-6, `the WGSL and WASI deltas are ${largestDifference(fromGpu, fromWasi)} apart`)
  })

  // 1,600 digits in 2 shards, 500 held out, a 784-32-10 net, 2 rounds of 20 steps of 32; every
  // task runs on both providers (replication 2), which must agree bit for bit.
  const SMALL: TrainingRun = { kernel: 'webgpu', shards: 2, rounds: 2, hidden: 32, steps: 20, batch: 32, learningRate: 0.1, shift: 1, trainSamples: 1_600, testSamples: 500, replication: 2 }
  // Chance is 10 %; this run measured 63 % after one round and 75 % after two here (2026-12-06).
  // A wrong kernel (a sign, a gradient not applied, weights not carried over) stays near chance;
  // that the weights match the WASI replay's is the precise check.
  const THRESHOLD = 0.65

  test('training with the WGSL kernel, replicated on two providers: accuracy rises and the weights match the WASI replay', async () => {
    const { lines, weights } = await runTraining(client, SMALL)
    assert.equal(lines.length, 3, 'the initial weights and two rounds')
    assert.ok(lines[0]!.accuracy < 0.3, `the initial weights are near chance: ${lines[0]!.accuracy}`)
    for (const line of lines.slice(1)) {
      assert.equal(line.used, 2, `round ${line.round} used both shards' deltas`)
      assert.equal(line.closedBy, 'all')
    }
    assert.ok(lines.at(-1)!.accuracy > THRESHOLD, `final accuracy ${lines.at(-1)!.accuracy}`)
    const replay = await trainInOneProcess(SMALL)
    const apart = largestDifference(weights, replay.weights)
    assert.ok(apart <= WEBGPU_TOLERANCE, `the grid's weights are ${apart} from the WASI replay's`)
  })
}
