/**
 * Deep learning on the grid: data-parallel training of an MLP on real MNIST digits, DiLoCo-style,
 * with the SDK's trainDataParallel. The training shards go to the requester's IPFS store once;
 * each round the current weights go up by CID, every provider runs local SGD steps on its shards
 * (the AssemblyScript kernel in assembly/mlp.ts, compiled by the SDK) and returns a weight delta by
 * CID, and the requester aggregates the deltas, takes the outer step and scores the new weights on
 * the 2,000 held-out digits.
 *
 *   node examples/train/train.ts [--providers 2] [--cores 1] [--shards 2] [--rounds 3]
 *        [--hidden 256] [--steps 1250] [--batch 32] [--lr 0.3] [--final-lr 0.003] [--shift 1]
 *        [--aggregator mean|median|trimmedMean]
 *        [--outer average|nesterov] [--replication 1] [--price CON] [--quorum N] [--deadline-ms MS]
 *        [--train-samples 8000] [--test-samples 2000] [--plot out/train.png] [--kernel wasi|webgpu]
 *
 * Prints one line per round (round, test accuracy, loss, wall seconds) and writes the plot. Then
 * the same training runs in one process, with no grid, and the grid's weights must equal its bit
 * for bit; the last line is the JSON summary `npm run examples` collects. With `--kernel webgpu` the
 * providers run the WGSL kernel on their GPU (SwiftShader, on the CPU, where there is none: about
 * 0.1 s a step here, so give it few --steps), and the one-process replay, in WASI, must agree with
 * the grid's weights to within WEBGPU_TOLERANCE.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { aggregateDeltas, applyOuterStep, assemblyScriptModule, trainDataParallel } from '../../src/sdk/index.ts'
import { equalBytes, Semaphore } from '../../src/util/index.ts'
import { exampleRunner } from '../runExample.ts'
import { summaryLine, waitForOffers } from '../grid.ts'
import { firstRecords, loadMnist, RECORD_BYTES, shardRecords } from './mnist.ts'
import { initialMlpWeights, mlpEvaluator, mlpGpuParams, mlpGpuPlan, mlpTrainArgs, MLP_SOURCE, MLP_WGSL } from './mlp.ts'
import { trainingPlot } from './plot.ts'
import type { Aggregator, ConunClient, JobOptions, OuterStep } from '../../src/sdk/index.ts'
import type { Evaluation } from './mlp.ts'
import type { PlotPoint } from './plot.ts'
import { intFlag, positiveFlag } from '../flags.ts'

export interface TrainingRun {
  readonly shards?: number
  readonly rounds?: number
  readonly hidden?: number
  /** Local SGD steps per task, each of `batch` samples. */
  readonly steps?: number
  readonly batch?: number
  /** The local steps' learning rate in a shard's first round. */
  readonly learningRate?: number
  /** The learning rate a shard's last round ends near: it decays from learningRate along a cosine (default: no decay). */
  readonly finalLearningRate?: number
  /** Augmentation: training samples moved by up to this many pixels across and down. */
  readonly shift?: number
  readonly aggregator?: Aggregator
  readonly outer?: OuterStep
  readonly replication?: number
  /** CON each accepted delta earns its provider (default "0": a free job). */
  readonly price?: string
  readonly quorum?: number
  readonly deadlineMs?: number
  readonly trainSamples?: number
  readonly testSamples?: number
  /**
   * The kernel providers run: the AssemblyScript one in WASI (default), or the WGSL one (mlp.wgsl)
   * on providers that offer `webgpu`. Both take the same steps on the same samples; the WGSL one's
   * deltas agree bit for bit between devices of one kind, and with the WASI kernel's to rounding.
   */
  readonly kernel?: 'wasi' | 'webgpu'
  /**
   * Contributions to lose (the benchmark's dropout): such a task is given args the kernel refuses,
   * so its delta never arrives and its shard runs the same step again next round.
   */
  readonly drop?: (shard: number, round: number) => boolean
  /** Receives each round's line as it ends (round 0: the initial weights). */
  readonly onRound?: (line: RoundLine) => void
  readonly signal?: AbortSignal
}

export interface RoundLine extends PlotPoint {
  readonly used: number
  readonly missing: readonly number[]
  readonly closedBy: string
  readonly bytesUp: number
  readonly bytesDown: number
}

export interface TrainingResult {
  /** Round 0 is the initial weights; round t the weights after t rounds. */
  readonly lines: readonly RoundLine[]
  readonly weights: Float32Array
  readonly parameters: number
}

/** The run's settings with their defaults, its data, and each shard's task args. */
async function prepare (run: TrainingRun) {
  const { shards: shardCount = 2, rounds = 3, hidden = 256, steps = 1250, batch = 32, learningRate = 0.3, shift = 1, replication = 1, aggregator = 'mean', outer = { kind: 'average' } } = run
  const finalLearningRate = run.finalLearningRate ?? learningRate
  const data = await loadMnist()
  const train = firstRecords(data.train, run.trainSamples ?? 8_000)
  const test = firstRecords(data.test, run.testSamples ?? 2_000)
  // The step's learning rate depends only on the shard's step, so a shard that missed a round
  // repeats it exactly, and the one-process replay computes the same.
  const decayed = (step: number) => finalLearningRate + (learningRate - finalLearningRate) * (1 + Math.cos(Math.PI * step / rounds)) / 2
  const stepsOf = (shard: number, step: number) => ({ hidden, steps, batch, learningRate: decayed(step), seed: shard + 1, offset: step * steps * batch, shift })
  const args = (shard: number, step: number) => mlpTrainArgs(stepsOf(shard, step))
  const gpuParams = (shard: number, step: number) => mlpGpuParams(stepsOf(shard, step))
  return { rounds, hidden, replication, aggregator, outer, test, shards: shardRecords(train, shardCount), args, gpuParams }
}

/** Trains on a running grid through `client`; see the file's comment. */
export async function runTraining (client: ConunClient, run: TrainingRun = {}): Promise<TrainingResult> {
  const { rounds, hidden, replication, aggregator, outer, test, args, gpuParams, ...data } = await prepare(run)
  const gpu = run.kernel === 'webgpu'
  if (gpu && run.drop !== undefined) throw new RangeError('drop works with the WASI kernel only (it gives a task args that kernel refuses)')
  const shards = await Promise.all(data.shards.map(async shard => (await client.uploadBytes(shard)).cid))
  const evaluator = await mlpEvaluator(hidden, test)
  const limits = { timeoutMs: 120_000, memoryMb: 128 }
  const common = { name: 'mnist-mlp', replication, price: run.price, limits }
  // Compiled before the clock starts, so round 1's time is the grid's.
  const job: JobOptions = gpu
    ? { ...common, runtime: 'webgpu', module: MLP_WGSL, gpu: mlpGpuPlan(hidden, Math.max(...data.shards.map(shard => shard.byteLength / RECORD_BYTES))) }
    : { ...common, runtime: 'wasi', module: await assemblyScriptModule(MLP_SOURCE) }
  try {
    const weights = initialMlpWeights(hidden)
    const started = await evaluator.evaluate(weights)
    const lines: RoundLine[] = [{ round: 0, wallS: 0, ...started, used: 0, missing: [], closedBy: '-', bytesUp: 0, bytesDown: 0 }]
    run.onRound?.(lines[0]!)
    let last = weights
    for await (const round of trainDataParallel<Evaluation>(client, {
      job,
      initialWeights: weights,
      shards,
      rounds,
      args: (shard, step, round) => gpu ? gpuParams(shard, step) : run.drop?.(shard, round) === true ? ['train', 'dropped'] : args(shard, step),
      aggregator,
      outer,
      quorum: run.quorum,
      deadlineMs: run.deadlineMs,
      signal: run.signal,
      evaluate: w => evaluator.evaluate(w),
    })) {
      const line: RoundLine = { round: round.round + 1, wallS: round.wallS, ...round.evaluation!, used: round.used.length, missing: round.missing, closedBy: round.closedBy, bytesUp: round.bytesUp, bytesDown: round.bytesDown }
      lines.push(line)
      run.onRound?.(line)
      last = round.weights
    }
    return { lines, weights: last, parameters: weights.length }
  } finally {
    await evaluator.close()
  }
}

/**
 * The same training in one process, no grid: every shard's steps run in conun's WASI sandbox,
 * `concurrency` (1 or 2) at a time, then the same aggregation and outer step. When every round of
 * the grid's run used every shard (no quorum, deadline or drops), its weights must equal these bit
 * for bit.
 */
export async function trainInOneProcess (run: TrainingRun = {}, concurrency = 1): Promise<{ weights: Float32Array, seconds: number }> {
  const { rounds, hidden, aggregator, outer, args, shards } = await prepare(run)
  const runner = await exampleRunner('mlp')
  const slots = new Semaphore(concurrency)
  const dir = await mkdtemp(join(tmpdir(), 'conun-mlp-train-'))
  try {
    const started = performance.now()
    const paths = await Promise.all(shards.map(async (shard, s) => {
      const path = join(dir, `shard-${s}`)
      await writeFile(path, shard)
      return path
    }))
    const weightsPath = join(dir, 'weights')
    let weights = initialMlpWeights(hidden)
    const momentum = new Float64Array(weights.length)
    for (let round = 0; round < rounds; round++) {
      await writeFile(weightsPath, new Uint8Array(weights.buffer))
      const deltas = await Promise.all(paths.map(async (path, s) => {
        await slots.acquire()
        try {
          const result = await runner.run(args(s, round), { inputs: [{ name: 'weights', path: weightsPath }, { name: 'shard', path }], timeoutMs: 120_000 })
          if (result.exitCode !== 0) throw new Error(`mlp train exited ${result.exitCode}: ${result.stderr.trim()}`)
          return new Float32Array(result.files.get('delta')!.slice().buffer)
        } finally {
          slots.release()
        }
      }))
      weights = applyOuterStep(weights, aggregateDeltas(deltas, { aggregator }), outer, momentum)
    }
    return { weights, seconds: (performance.now() - started) / 1000 }
  } finally {
    await runner.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * How far the WGSL kernel's weights may be from the WASI kernel's after a run: the two differ in the
 * last bits of a step (fused multiply-add, exp), and SGD carries that along without growing it much
 * (3 × 25 steps here: under 1e-6).
 */
export const WEBGPU_TOLERANCE = 1e-4

/** The largest |a[i] − b[i]|. */
export function largestDifference (a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY
  let largest = 0
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i]! - b[i]!))
  return largest
}

export function formatRoundLine (line: RoundLine): string {
  const extra = line.round === 0 ? 'initial weights' : `${line.used} deltas, closed by ${line.closedBy}${line.missing.length > 0 ? `, shards ${line.missing.join(',')} to next round` : ''}`
  return `round ${String(line.round).padStart(3)}  test accuracy ${(line.accuracy * 100).toFixed(2).padStart(6)} %  loss ${line.loss.toFixed(4)}  ${line.wallS.toFixed(1).padStart(6)} s  (${extra})`
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      providers: { type: 'string', default: '2' },
      cores: { type: 'string', default: '1' },
      shards: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      hidden: { type: 'string', default: '256' },
      steps: { type: 'string', default: '1250' },
      batch: { type: 'string', default: '32' },
      lr: { type: 'string', default: '0.3' },
      'final-lr': { type: 'string', default: '0.003' },
      shift: { type: 'string', default: '1' },
      aggregator: { type: 'string', default: 'mean' },
      outer: { type: 'string', default: 'average' },
      replication: { type: 'string', default: '1' },
      price: { type: 'string', default: '0' },
      quorum: { type: 'string' },
      'deadline-ms': { type: 'string' },
      'train-samples': { type: 'string', default: '8000' },
      'test-samples': { type: 'string', default: '2000' },
      plot: { type: 'string', default: 'out/train.png' },
      kernel: { type: 'string', default: 'wasi' },
    },
  })
  if (!['wasi', 'webgpu'].includes(values.kernel)) throw new Error(`--kernel must be wasi or webgpu, got ${values.kernel}`)
  if (!['mean', 'median', 'trimmedMean'].includes(values.aggregator)) throw new Error(`--aggregator must be mean, median or trimmedMean, got ${values.aggregator}`)
  if (!['average', 'nesterov'].includes(values.outer)) throw new Error(`--outer must be average or nesterov, got ${values.outer}`)
  const startedAt = performance.now()
  const providers = intFlag(values, 'providers')
  const run: TrainingRun = {
    shards: intFlag(values, 'shards'),
    rounds: intFlag(values, 'rounds'),
    hidden: intFlag(values, 'hidden'),
    steps: intFlag(values, 'steps'),
    batch: intFlag(values, 'batch'),
    learningRate: positiveFlag(values, 'lr'),
    finalLearningRate: positiveFlag(values, 'final-lr'),
    shift: intFlag(values, 'shift', 0),
    aggregator: values.aggregator as Aggregator,
    outer: values.outer === 'nesterov' ? { kind: 'nesterov', learningRate: 0.7, momentum: 0.9 } : { kind: 'average' },
    replication: intFlag(values, 'replication'),
    price: values.price,
    quorum: values.quorum === undefined ? undefined : intFlag(values, 'quorum'),
    deadlineMs: values['deadline-ms'] === undefined ? undefined : intFlag(values, 'deadline-ms'),
    trainSamples: intFlag(values, 'train-samples'),
    testSamples: intFlag(values, 'test-samples'),
    kernel: values.kernel as 'wasi' | 'webgpu',
    onRound: line => console.log(formatRoundLine(line)),
  }
  const gpu = run.kernel === 'webgpu'
  const grid = await startLocalGrid({ providers, coresPerProvider: intFlag(values, 'cores'), providerFlags: gpu ? ['--runtimes', 'webgpu', '--software-gpu'] : [] })
  try {
    await waitForOffers(grid.requester.client, providers)
    console.log(`training a 784-${values.hidden}-10 MLP on ${values['train-samples']} MNIST digits in ${values.shards} shards on ${providers} providers (${gpu ? 'WGSL kernel on webgpu' : 'WASI kernel'}); testing on ${values['test-samples']} held out`)
    const result = await runTraining(grid.requester.client, run)
    await mkdir(dirname(values.plot), { recursive: true })
    await writeFile(values.plot, trainingPlot([{ points: result.lines, colour: [31, 119, 180] }]))
    const final = result.lines.at(-1)!
    console.log(`wrote ${values.plot}`)
    console.log(`held-out accuracy ${(final.accuracy * 100).toFixed(2)} %, loss ${final.loss.toFixed(4)}, ${final.wallS.toFixed(1)} s on the grid; ${((final.bytesUp + final.bytesDown) / 1e6).toFixed(2)} MB through the requester per round`)
    // A round that went without some shard cannot be replayed here, so the check needs them all.
    const complete = result.lines.slice(1).every(line => line.missing.length === 0)
    const baseline = complete ? await trainInOneProcess(run) : undefined
    const apart = baseline === undefined ? Number.POSITIVE_INFINITY : largestDifference(baseline.weights, result.weights)
    const same = baseline !== undefined && (gpu ? apart <= WEBGPU_TOLERANCE : equalBytes(new Uint8Array(baseline.weights.buffer), new Uint8Array(result.weights.buffer)))
    console.log(baseline === undefined
      ? 'some round went without a shard: no one-process replay to compare with'
      : gpu
        ? `one process, no grid, WASI kernel: ${baseline.seconds.toFixed(1)} s; weights at most ${apart.toExponential(2)} apart (tolerance ${WEBGPU_TOLERANCE}): ${same ? 'yes' : 'NO'}`
        : `one process, no grid: ${baseline.seconds.toFixed(1)} s; the same weights bit for bit: ${same ? 'yes' : 'NO'}`)
    console.log(summaryLine({ name: 'train', category: 'deep learning', verified: same, wallS: (performance.now() - startedAt) / 1000, baselineS: baseline?.seconds ?? 0, tasks: run.rounds! * run.shards!, providers, gridS: final.wallS }))
  } finally {
    await grid.stop()
  }
}
