import { aggregateDeltas } from './aggregateDeltas.ts'
import { applyOuterStep } from './outerStep.ts'
import { rounds } from './rounds.ts'
import { bytesView } from '../util/index.ts'
import type { Aggregator } from './aggregateDeltas.ts'
import type { ConunClient } from './client.ts'
import type { TaskProgress } from './completedTasks.ts'
import type { JobOptions, TaskInput } from './jobOptions.ts'
import type { MapResult } from './map.ts'
import type { OuterStep } from './outerStep.ts'

export interface TrainOptions<Evaluation> {
  /**
   * The job a training step runs as (runtime, module, price, replication, limits, …). Each task
   * reads the current weights at /in/weights and its shard at /in/shard, and writes the change
   * it made to the weights to /out/delta; weights and deltas are f32 little-endian.
   */
  readonly job: JobOptions
  readonly initialWeights: Float32Array
  /** The shards' CIDs (uploaded once, e.g. with client.uploadBytes): one task per shard per round. */
  readonly shards: readonly string[]
  readonly rounds: number
  /**
   * The args of shard `shard`'s task, where `step` counts the rounds whose delta of this shard was
   * used: a shard missing from a round runs the same step again in the next one.
   */
  readonly args: (shard: number, step: number, round: number) => string[]
  /**
   * How the round's deltas are combined (default `mean`); `trim` for `trimmedMean`. `median` and
   * `trimmedMean` count one vote per provider (the mean of the deltas it returned that round), so
   * a provider that did most of a round's tasks cannot outvote the others; `mean` weights each
   * provider by the deltas it returned.
   */
  readonly aggregator?: Aggregator
  readonly trim?: number
  readonly outer?: OuterStep
  /** Deltas that close a round at once (default: every shard's); the others go to the next round. */
  readonly quorum?: number
  /** A round still open after this long closes with the deltas it has (at least one). */
  readonly deadlineMs?: number
  /** Runs after each round on the new weights (e.g. held-out accuracy); its result is in the round's summary. */
  readonly evaluate?: (weights: Float32Array, round: number) => Evaluation | Promise<Evaluation>
  readonly signal?: AbortSignal
  readonly onProgress?: (progress: TaskProgress & { round: number }) => void
}

export interface TrainRound<Evaluation> {
  readonly round: number
  readonly weights: Float32Array
  /** Shards whose delta this round's outer step used, and those it went without (to run again next round). */
  readonly used: readonly number[]
  readonly missing: readonly number[]
  /** Deltas that came back unusable (wrong size, or not finite): their shards count as missing. */
  readonly rejected: ReadonlyArray<{ readonly shard: number, readonly provider: string, readonly reason: string }>
  readonly closedBy: 'all' | 'quorum' | 'deadline'
  /** Bytes of weights sent to the grid and of deltas read back this round. */
  readonly bytesUp: number
  readonly bytesDown: number
  /** Seconds since training started, when the round (its evaluation included) ended. */
  readonly wallS: number
  readonly evaluation: Evaluation | undefined
}

interface TrainState {
  readonly weights: Float32Array
  readonly momentum: Float64Array | undefined
  /** Rounds whose delta of each shard was used. */
  readonly steps: readonly number[]
  readonly used: readonly number[]
  readonly rejected: TrainRound<unknown>['rejected']
  readonly bytesUp: number
  readonly bytesDown: number
}

/**
 * Data-parallel training across the grid, DiLoCo-style, built on `rounds`: each round uploads the
 * current weights once (tasks read them by CID), runs one task per shard (each takes local steps
 * on its shard and returns a weight delta), aggregates the deltas that arrive by the round's
 * quorum or deadline (a robust aggregator counting one vote per provider, which it learns from
 * each task's accepted result), and applies the outer step. With `job.replication`, the grid
 * accepts a delta only when replicas on different providers agree bit for bit, so the kernel must
 * be deterministic (WASI f32 with no relaxed SIMD is). Yields each round's summary.
 */
export async function * trainDataParallel<Evaluation = undefined> (client: ConunClient, options: TrainOptions<Evaluation>): AsyncGenerator<TrainRound<Evaluation>> {
  const { shards, outer = { kind: 'average' } } = options
  if (shards.length === 0) throw new RangeError('training needs at least one shard')
  const started = performance.now()
  const length = options.initialWeights.length
  const initial: TrainState = {
    weights: options.initialWeights.slice(),
    momentum: outer.kind === 'nesterov' ? new Float64Array(length) : undefined,
    steps: shards.map(() => 0),
    used: [],
    rejected: [],
    bytesUp: 0,
    bytesDown: 0,
  }
  // The task order of each round, by round: combine maps task indices back to shards with it.
  const shardOfTask = new Map<number, number[]>()
  // Each delta is read as soon as its task ends, while the round's other tasks still run, so the
  // round's close waits for one read at most instead of all of them one after another.
  const reads = new Map<MapResult<TaskInput>, Promise<Uint8Array>>()
  const iteration = rounds<TrainState>(client, {
    initial,
    rounds: options.rounds,
    quorum: options.quorum,
    deadlineMs: options.deadlineMs,
    signal: options.signal,
    onProgress: options.onProgress,
    onResult: result => {
      const file = result.files.delta
      if (result.exitCode !== 0 || file === undefined) return
      const read = file.bytes()
      read.catch(() => {}) // a failed read is reported when combine awaits it
      reads.set(result, read)
    },
    round: async (state, t) => {
      const weights = await client.uploadBytes(bytesView(state.weights))
      // Shards the last round went without go first, so they are the first to be scheduled.
      const missing = t === 0 ? [] : [...shards.keys()].filter(shard => !state.used.includes(shard))
      const order = [...new Set([...missing, ...shards.keys()])]
      const tasks: TaskInput[] = order.map(shard => ({ args: options.args(shard, state.steps[shard]!, t), inputs: { shard: shards[shard]! } }))
      const job = { ...options.job, name: `${options.job.name ?? 'train'} (round ${t + 1})`, inputs: { ...options.job.inputs, weights: weights.cid } } as JobOptions
      shardOfTask.set(t, order)
      return { job, tasks }
    },
    combine: async (results, state, t) => {
      const order = shardOfTask.get(t)!
      shardOfTask.delete(t)
      const { deltas, providers, used, rejected, bytesDown } = await readDeltas(results, order, length, reads)
      if (deltas.length === 0) throw new Error(`round ${t + 1} returned no usable delta: ${rejected.map(r => `shard ${r.shard}: ${r.reason}`).join('; ')}`)
      const step = aggregateDeltas(deltas, { aggregator: options.aggregator ?? 'mean', trim: options.trim, providers })
      const weights = applyOuterStep(state.weights, step, outer, state.momentum)
      const steps = state.steps.map((n, shard) => used.includes(shard) ? n + 1 : n)
      return { weights, momentum: state.momentum, steps, used, rejected, bytesUp: state.weights.byteLength, bytesDown }
    },
  })
  for await (const summary of iteration) {
    const { state } = summary
    const evaluation = options.evaluate === undefined ? undefined : await options.evaluate(state.weights, summary.round)
    const used = new Set(state.used)
    yield {
      round: summary.round,
      weights: state.weights,
      used: state.used,
      missing: shards.map((_, shard) => shard).filter(shard => !used.has(shard)),
      rejected: state.rejected,
      closedBy: summary.closedBy,
      bytesUp: state.bytesUp,
      bytesDown: state.bytesDown,
      wallS: (performance.now() - started) / 1000,
      evaluation,
    }
  }
}

function allFinite (values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false
  return true
}

/**
 * The round's deltas as f32, in shard order, with the provider whose result the grid accepted for
 * each, and those that cannot be used set aside; `reads` holds those already being read.
 */
async function readDeltas (results: ReadonlyArray<MapResult<TaskInput>>, order: readonly number[], length: number, reads: Map<MapResult<TaskInput>, Promise<Uint8Array>>) {
  const byShard = [...results].map(result => ({ result, shard: order[result.idx]! })).sort((a, b) => a.shard - b.shard)
  const deltas: Float32Array[] = []
  const providers: string[] = []
  const used: number[] = []
  const rejected: Array<TrainRound<unknown>['rejected'][number]> = []
  let bytesDown = 0
  for (const { result, shard } of byShard) {
    const reject = (reason: string) => rejected.push({ shard, provider: result.provider, reason })
    const file = result.files.delta
    if (result.exitCode !== 0 || file === undefined) {
      reject(result.exitCode !== 0 ? `exit ${result.exitCode}` : 'no /out/delta')
      continue
    }
    const bytes = await (reads.get(result) ?? file.bytes())
    reads.delete(result)
    bytesDown += bytes.byteLength
    if (bytes.byteLength !== length * 4) {
      reject(`/out/delta holds ${bytes.byteLength} bytes, the weights ${length * 4}`)
      continue
    }
    // A view where the bytes are aligned for f32 (as a whole output read from the node is), a copy where not.
    const delta = bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, length) : new Float32Array(bytes.slice().buffer)
    if (!allFinite(delta)) {
      reject('/out/delta holds values that are not finite')
      continue
    }
    deltas.push(delta)
    providers.push(result.provider)
    used.push(shard)
  }
  return { deltas, providers, used, rejected, bytesDown }
}
