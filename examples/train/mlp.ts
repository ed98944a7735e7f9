/**
 * The requester's side of the `mlp` kernel (assembly/mlp.ts): its weight layout and initial
 * weights, its task arguments, and evaluation on the held-out digits.
 *
 * Evaluation runs on the requester, in conun's own WASI sandbox with the same kernel (its `eval`
 * mode), not as a grid task: the test set and the figure that says whether training worked stay with
 * the party that pays, where no provider can misreport them, and a pass over 2,000 digits takes
 * well under a second here, less than a round trip to the grid would.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesView, seededRandom } from '../../src/util/index.ts'
import { exampleRunner } from '../runExample.ts'
import { PIXELS, RECORD_BYTES } from './mnist.ts'
import type { GpuPlan } from '../../src/runtime/index.ts'

/** The kernel's AssemblyScript source: the SDK compiles it for the grid. */
export const MLP_SOURCE = new URL('assembly/mlp.ts', import.meta.url).pathname
/** The same training step in WGSL, for providers that offer `webgpu`. */
export const MLP_WGSL = new URL('mlp.wgsl', import.meta.url).pathname
const CLASSES = 10

export function mlpParameterCount (hidden: number): number {
  return PIXELS * hidden + hidden + hidden * CLASSES + CLASSES
}

/** He-uniform weights (zero biases) from a seed: W1, b1, W2, b2 as the kernel lays them out. */
export function initialMlpWeights (hidden: number, seed = 1): Float32Array {
  const weights = new Float32Array(mlpParameterCount(hidden))
  const random = seededRandom(seed)
  const fill = (from: number, count: number, fanIn: number) => {
    const bound = Math.sqrt(6 / fanIn)
    for (let i = from; i < from + count; i++) weights[i] = (random() * 2 - 1) * bound
  }
  fill(0, PIXELS * hidden, PIXELS)
  fill(PIXELS * hidden + hidden, hidden * CLASSES, hidden)
  return weights
}

export interface MlpSteps {
  readonly hidden: number
  readonly steps: number
  readonly batch: number
  readonly learningRate: number
  readonly seed: number
  /** Samples of the shard that earlier rounds used. */
  readonly offset: number
  /** Augmentation: each sample moved by up to this many pixels across and down (default 0). */
  readonly shift?: number
}

/** The args of one training task: `mlp train HIDDEN STEPS BATCH LR SEED OFFSET SHIFT`. */
export function mlpTrainArgs (s: MlpSteps): string[] {
  return ['train', ...stepValues(s)]
}

/**
 * The WGSL kernel's params, the WASI kernel's args after `train`. They travel as f32, whole numbers
 * exactly up to 2^24: far more samples than a shard's OFFSET reaches in any run here.
 */
export function mlpGpuParams (s: MlpSteps): string[] {
  if (s.offset >= 2 ** 24 || s.seed >= 2 ** 24) throw new RangeError('the WGSL kernel takes OFFSET and SEED below 2^24')
  return stepValues(s)
}

/** HIDDEN STEPS BATCH LR SEED OFFSET SHIFT, as both kernels take them. */
function stepValues (s: MlpSteps): string[] {
  return [s.hidden, s.steps, s.batch, s.learningRate, s.seed, s.offset, s.shift ?? 0].map(String)
}

/** The WGSL kernel's plan for shards of at most `maxSamples` records: one workgroup runs every step. */
export function mlpGpuPlan (hidden: number, maxSamples: number): GpuPlan {
  if (hidden > 1024) throw new RangeError('the WGSL kernel takes at most 1,024 hidden units')
  const bytes = mlpParameterCount(hidden) * 4
  return {
    buffers: [
      { name: 'params', binding: 0, params: 'f32' },
      { name: 'weights', binding: 1, input: 'weights' },
      { name: 'shard', binding: 2, input: 'shard' },
      { name: 'w', binding: 3, output: 'delta', size: bytes },
      { name: 'grad', binding: 4, size: bytes },
      { name: 'order', binding: 5, size: maxSamples * 4 },
    ],
    passes: [{ entry: 'train', dispatch: [1] }],
  }
}

export interface Evaluation {
  readonly accuracy: number
  /** Mean cross-entropy per sample. */
  readonly loss: number
}

/** Evaluates weights on `records` with the kernel, run here in conun's WASI sandbox. */
export async function mlpEvaluator (hidden: number, records: Uint8Array): Promise<{ evaluate(weights: Float32Array): Promise<Evaluation>, close(): Promise<void> }> {
  const runner = await exampleRunner('mlp')
  const dir = await mkdtemp(join(tmpdir(), 'conun-mlp-eval-'))
  const shard = join(dir, 'shard')
  const weightsPath = join(dir, 'weights')
  await writeFile(shard, records)
  return {
    async evaluate (weights) {
      await writeFile(weightsPath, bytesView(weights))
      const run = await runner.run(['eval', String(hidden)], { inputs: [{ name: 'weights', path: weightsPath }, { name: 'shard', path: shard }] })
      if (run.exitCode !== 0) throw new Error(`mlp eval exited ${run.exitCode}: ${run.stderr.trim()}`)
      const [correct, count, lossSum] = Buffer.from(run.stdout).toString().trim().split(' ').map(Number) as [number, number, number]
      if (count !== records.length / RECORD_BYTES) throw new Error(`mlp eval counted ${count} samples, expected ${records.length / RECORD_BYTES}`)
      return { accuracy: correct / count, loss: lossSum / count }
    },
    async close () {
      await runner.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
