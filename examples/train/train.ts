/**
 * Deep learning on the grid: data-parallel training of an MLP on real MNIST digits, DiLoCo-style,
 * with the SDK's trainDataParallel. The training shards go to the requester's IPFS store once;
 * each round the current weights go up by CID, every provider runs local SGD steps on its shards
 * (the AssemblyScript kernel in assembly/mlp.ts, compiled by the SDK) and returns a weight delta by
 * CID, and the requester aggregates the deltas, takes the outer step and scores the new weights on
 * the 2,000 held-out digits.
 *
 *   node examples/train/train.ts [--providers 2] [--cores 1] [--shards 4] [--rounds 10]
 *        [--hidden 128] [--steps 100] [--batch 32] [--lr 0.1] [--aggregator mean|median|trimmedMean]
 *        [--outer average|nesterov] [--replication 1] [--quorum N] [--deadline-ms MS]
 *        [--train-samples 8000] [--test-samples 2000] [--plot out/train.png]
 *
 * Prints one line per round (round, test accuracy, loss, wall seconds) and writes the plot.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { assemblyScriptModule, trainDataParallel } from '../../src/sdk/index.ts'
import { waitForOffers } from '../grid.ts'
import { firstRecords, loadMnist, shardRecords } from './mnist.ts'
import { initialMlpWeights, mlpEvaluator, mlpTrainArgs, MLP_SOURCE } from './mlp.ts'
import { trainingPlot } from './plot.ts'
import type { Aggregator, ConunClient, OuterStep } from '../../src/sdk/index.ts'
import type { Evaluation } from './mlp.ts'
import type { PlotPoint } from './plot.ts'

export interface TrainingRun {
  readonly shards?: number
  readonly rounds?: number
  readonly hidden?: number
  /** Local SGD steps per task, each of `batch` samples. */
  readonly steps?: number
  readonly batch?: number
  readonly learningRate?: number
  readonly aggregator?: Aggregator
  readonly outer?: OuterStep
  readonly replication?: number
  readonly quorum?: number
  readonly deadlineMs?: number
  readonly trainSamples?: number
  readonly testSamples?: number
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

/** Trains on a running grid through `client`; see the file's comment. */
export async function runTraining (client: ConunClient, run: TrainingRun = {}): Promise<TrainingResult> {
  const { shards: shardCount = 4, rounds = 10, hidden = 128, steps = 100, batch = 32, learningRate = 0.1, replication = 1 } = run
  const data = await loadMnist()
  const train = firstRecords(data.train, run.trainSamples ?? 8_000)
  const test = firstRecords(data.test, run.testSamples ?? 2_000)
  const shards = await Promise.all(shardRecords(train, shardCount).map(async shard => (await client.uploadBytes(shard)).cid))
  const evaluator = await mlpEvaluator(hidden, test)
  // Compiled before the clock starts, so round 1's time is the grid's.
  const module = await assemblyScriptModule(MLP_SOURCE)
  try {
    const weights = initialMlpWeights(hidden)
    const started = await evaluator.evaluate(weights)
    const lines: RoundLine[] = [{ round: 0, wallS: 0, ...started, used: 0, missing: [], closedBy: '-', bytesUp: 0, bytesDown: 0 }]
    run.onRound?.(lines[0]!)
    let last = weights
    for await (const round of trainDataParallel<Evaluation>(client, {
      job: { runtime: 'wasi', module, name: 'mnist-mlp', replication, limits: { timeoutMs: 120_000, memoryMb: 128 } },
      initialWeights: weights,
      shards,
      rounds,
      args: (shard, step, round) => run.drop?.(shard, round) === true ? ['train', 'dropped'] : mlpTrainArgs({ hidden, steps, batch, learningRate, seed: shard + 1, offset: step * steps * batch }),
      aggregator: run.aggregator,
      outer: run.outer,
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

export function formatRoundLine (line: RoundLine): string {
  const extra = line.round === 0 ? 'initial weights' : `${line.used} deltas, closed by ${line.closedBy}${line.missing.length > 0 ? `, shards ${line.missing.join(',')} to next round` : ''}`
  return `round ${String(line.round).padStart(3)}  test accuracy ${(line.accuracy * 100).toFixed(2).padStart(6)} %  loss ${line.loss.toFixed(4)}  ${line.wallS.toFixed(1).padStart(6)} s  (${extra})`
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      providers: { type: 'string', default: '2' },
      cores: { type: 'string', default: '1' },
      shards: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '10' },
      hidden: { type: 'string', default: '128' },
      steps: { type: 'string', default: '100' },
      batch: { type: 'string', default: '32' },
      lr: { type: 'string', default: '0.1' },
      aggregator: { type: 'string', default: 'mean' },
      outer: { type: 'string', default: 'average' },
      replication: { type: 'string', default: '1' },
      quorum: { type: 'string' },
      'deadline-ms': { type: 'string' },
      'train-samples': { type: 'string', default: '8000' },
      'test-samples': { type: 'string', default: '2000' },
      plot: { type: 'string', default: 'out/train.png' },
    },
  })
  if (!['mean', 'median', 'trimmedMean'].includes(values.aggregator)) throw new Error(`--aggregator must be mean, median or trimmedMean, got ${values.aggregator}`)
  if (!['average', 'nesterov'].includes(values.outer)) throw new Error(`--outer must be average or nesterov, got ${values.outer}`)
  const providers = Number(values.providers)
  const grid = await startLocalGrid({ providers, coresPerProvider: Number(values.cores) })
  try {
    await waitForOffers(grid.requester.client, providers)
    console.log(`training a 784-${values.hidden}-10 MLP on ${values['train-samples']} MNIST digits in ${values.shards} shards on ${providers} providers; testing on ${values['test-samples']} held out`)
    const result = await runTraining(grid.requester.client, {
      shards: Number(values.shards),
      rounds: Number(values.rounds),
      hidden: Number(values.hidden),
      steps: Number(values.steps),
      batch: Number(values.batch),
      learningRate: Number(values.lr),
      aggregator: values.aggregator as Aggregator,
      outer: values.outer === 'nesterov' ? { kind: 'nesterov', learningRate: 0.7, momentum: 0.9 } : { kind: 'average' },
      replication: Number(values.replication),
      quorum: values.quorum === undefined ? undefined : Number(values.quorum),
      deadlineMs: values['deadline-ms'] === undefined ? undefined : Number(values['deadline-ms']),
      trainSamples: Number(values['train-samples']),
      testSamples: Number(values['test-samples']),
      onRound: line => console.log(formatRoundLine(line)),
    })
    await mkdir(dirname(values.plot), { recursive: true })
    await writeFile(values.plot, trainingPlot([{ points: result.lines, colour: [31, 119, 180] }]))
    const final = result.lines.at(-1)!
    console.log(`wrote ${values.plot}`)
    console.log(JSON.stringify({ testAccuracy: final.accuracy, loss: final.loss, wallS: final.wallS, rounds: final.round, parameters: result.parameters, bytesPerRound: final.bytesUp + final.bytesDown }))
  } finally {
    await grid.stop()
  }
}
