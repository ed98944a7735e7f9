// `npm run bench:train`: data-parallel training of the MNIST MLP (examples/train) on local grids, in
// one run: (a) one provider and (b) two, on the same data and budget of samples (every round, six
// shards of local SGD steps, long enough that a task's compute outweighs the round's fixed cost on
// the grid), and the same training in one process with no grid (the compute alone); (c) two providers with 30 % of round contributions lost at random
// (their shards run again the next round); (d) three providers of which one poisons every delta it
// returns (sign-flipped ×10, a real node: test/fixtures/lyingProvider.ts), aggregated by mean and
// by coordinate-wise median; (e) bytes a round moves against sending every local step's gradient.
// Six shards on three providers of one core: the median votes once per provider (each provider's
// deltas averaged first), so it holds however many of a round's deltas the poisoner returns.
// (a) and (b) run --repeat times each, alternating, each on a fresh grid: on a machine shared with
// other work a single pair a minute apart measures the neighbours' load as much as the grid, so
// the speed-up is taken between the fastest run of each (every run's time is printed, and the
// median pair's ratio beside it); every repeat must end on the same weights, bit for bit.
// Prints a table and, last, one JSON line.
//
//   npm run bench:train [-- --rounds 3 --steps 417 --shards 6 --hidden 256 --lr 0.5 --final-lr 0.003 --shift 1 --repeat 3 --own-sessions]
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../src/devnet/index.ts'
import { equalBytes, seededRandom } from '../src/util/index.ts'
import { waitForOffers } from '../examples/grid.ts'
import { formatRoundLine, runTraining, trainInOneProcess } from '../examples/train/train.ts'
import { trainingPlot } from '../examples/train/plot.ts'
import type { Aggregator } from '../src/sdk/index.ts'
import type { TrainingResult, TrainingRun } from '../examples/train/train.ts'
import type { PlotSeries } from '../examples/train/plot.ts'
import { intFlag, positiveFlag } from '../examples/flags.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '417' },
    shards: { type: 'string', default: '6' },
    hidden: { type: 'string', default: '256' },
    lr: { type: 'string', default: '0.5' },
    'final-lr': { type: 'string', default: '0.003' },
    shift: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '3' },
    // Each provider in a session of its own (setsid), so that on a Linux machine shared with other
    // sessions it gets a share of the CPU of its own, as on a machine of its own; without it, the
    // benchmark's processes all share one autogroup's share.
    'own-sessions': { type: 'boolean', default: false },
  },
})
const SHARDS = intFlag(values, 'shards')
const REPEAT = intFlag(values, 'repeat')
const BATCH = 32
// Six shards' deltas averaged act like a batch six times larger, hence a learning rate higher
// than the two-shard example's.
const base: TrainingRun = { shards: SHARDS, rounds: intFlag(values, 'rounds'), hidden: intFlag(values, 'hidden'), steps: intFlag(values, 'steps'), batch: BATCH, learningRate: positiveFlag(values, 'lr'), finalLearningRate: positiveFlag(values, 'final-lr'), shift: intFlag(values, 'shift', 0) }
const LIAR = join(import.meta.dirname, '..', 'test', 'fixtures', 'lyingProvider.ts')

interface Scenario {
  readonly key: 'single' | 'two' | 'dropout' | 'poisonedMedian' | 'poisonedMean'
  readonly label: string
  readonly providers: number
  readonly poisoner?: boolean
  readonly aggregator?: Aggregator
  readonly drop?: TrainingRun['drop']
  readonly colour: PlotSeries['colour']
}

/** 30 % of contributions lost, drawn from a fixed seed; a round never loses all of them. */
function dropout (seed: number): TrainingRun['drop'] {
  const random = seededRandom(seed)
  const lost = new Map<number, boolean[]>()
  return (shard, round) => {
    if (!lost.has(round)) {
      const draw = Array.from({ length: SHARDS }, () => random() < 0.3)
      if (draw.every(Boolean)) draw[0] = false
      lost.set(round, draw)
    }
    return lost.get(round)![shard]!
  }
}

const scenarios: Scenario[] = [
  { key: 'single', label: '(a) one provider', providers: 1, colour: [31, 119, 180] },
  { key: 'two', label: '(b) two providers', providers: 2, colour: [44, 160, 44] },
  { key: 'dropout', label: '(c) two, 30 % dropped', providers: 2, drop: dropout(7), colour: [255, 127, 14] },
  { key: 'poisonedMedian', label: '(d) 2 + poisoner, median', providers: 2, poisoner: true, aggregator: 'median', colour: [148, 103, 189] },
  { key: 'poisonedMean', label: '(d) 2 + poisoner, mean', providers: 2, poisoner: true, aggregator: 'mean', colour: [214, 39, 40] },
]

console.log(`conun training benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`)
console.log(`784-${base.hidden}-10 MLP, 8,000 MNIST digits (moved up to ${base.shift} px) in ${SHARDS} shards, ${base.rounds} rounds of ${base.steps} local steps of ${BATCH} per shard (the same samples in every scenario; learning rate ${base.learningRate} → ${base.finalLearningRate}), 2,000 held out; providers ${values['own-sessions'] ? 'each in a session of its own' : 'in the benchmark\'s session'}; load average ${loadavg().map(l => l.toFixed(1)).join(' ')}`)

/** Trains once on a fresh grid of the scenario's providers, printing each round as it ends. */
async function trainOnGrid (scenario: Scenario, label: string): Promise<TrainingResult> {
  console.log(`\n${label}`)
  const grid = await startLocalGrid({ providers: scenario.providers, coresPerProvider: 1, providerWrap: values['own-sessions'] ? ['setsid'] : undefined })
  try {
    if (scenario.poisoner === true) await grid.addProvider({ entry: LIAR, flags: ['--lie-rate', '1', '--scale-file', 'delta', '--scale', '-10'] })
    await waitForOffers(grid.requester.client, scenario.providers + (scenario.poisoner === true ? 1 : 0))
    return await runTraining(grid.requester.client, { ...base, aggregator: scenario.aggregator, drop: scenario.drop, onRound: line => console.log(`  ${formatRoundLine(line)}`) })
  } finally {
    await grid.stop()
  }
}

const wallOf = (result: TrainingResult) => result.lines.at(-1)!.wallS
const sameWeights = (a: TrainingResult, b: TrainingResult) => equalBytes(new Uint8Array(a.weights.buffer), new Uint8Array(b.weights.buffer))
// (a) and (b), alternating, then the others once each.
const repeated = scenarios.filter(scenario => scenario.key === 'single' || scenario.key === 'two')
const runs = new Map<Scenario['key'], TrainingResult[]>(repeated.map(scenario => [scenario.key, []]))
for (let run = 1; run <= REPEAT; run++) {
  for (const scenario of repeated) runs.get(scenario.key)!.push(await trainOnGrid(scenario, REPEAT === 1 ? scenario.label : `${scenario.label}, run ${run} of ${REPEAT}`))
}
const results = new Map<Scenario['key'], TrainingResult>()
for (const [key, list] of runs) {
  if (!list.every(result => sameWeights(result, list[0]!))) throw new Error(`the runs of ${key} ended on different weights: training on the grid is no longer deterministic`)
  results.set(key, list.reduce((fastest, result) => wallOf(result) < wallOf(fastest) ? result : fastest))
}
for (const scenario of scenarios.filter(scenario => !runs.has(scenario.key))) results.set(scenario.key, await trainOnGrid(scenario, scenario.label))

// The compute alone: the same tasks in one process (no grid), one at a time and two at a time,
// whose weights must equal (a)'s bit for bit. The second against the first is the parallelism the
// machine gives this benchmark now: the most (b) can gain over (a), whatever the grid does.
const replay = await trainInOneProcess(base)
const replayTwo = await trainInOneProcess(base, 2)
const single = new Uint8Array(results.get('single')!.weights.buffer)
const replayMatches = [replay, replayTwo].every(r => equalBytes(new Uint8Array(r.weights.buffer), single))
const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor((numbers.length - 1) / 2)]!
const runTimes = (key: Scenario['key']) => runs.get(key)!.map(wallOf)
const final = (key: Scenario['key']) => results.get(key)!.lines.at(-1)!
const parameters = results.get('single')!.parameters
const weightBytes = parameters * 4
// A round: the weights once to the requester's node (each provider then fetches them by CID) and
// one delta per shard back. Sending every local step's gradient instead (and the weights back
// after each step) moves both for every step of every shard.
const roundBytes = { weights: weightBytes, deltas: SHARDS * weightBytes, fetchedByProviders: SHARDS * weightBytes }
const diloco = roundBytes.weights + roundBytes.deltas
const perStep = SHARDS * base.steps! * 2 * weightBytes

console.log('\n| scenario | providers | test accuracy | loss | wall s |')
console.log('|---|---|---|---|---|')
for (const scenario of scenarios) {
  const line = final(scenario.key)
  console.log(`| ${scenario.label} | ${scenario.providers}${scenario.poisoner === true ? ' + 1 poisoner' : ''} | ${(line.accuracy * 100).toFixed(2)} % | ${line.loss.toFixed(4)} | ${line.wallS.toFixed(1)} |`)
}
const speedup = final('single').wallS / final('two').wallS
const medianSpeedup = median(runTimes('single')) / median(runTimes('two'))
console.log(`| one process, no grid, a task at a time | - | ${replayMatches ? '(a)\'s weights bit for bit' : 'NOT (a)\'s weights'} | - | ${replay.seconds.toFixed(1)} |`)
console.log(`| one process, no grid, two tasks at a time | - | the same | - | ${replayTwo.seconds.toFixed(1)} |`)
console.log(`\n(a) ${runTimes('single').map(t => t.toFixed(1)).join(', ')} s; (b) ${runTimes('two').map(t => t.toFixed(1)).join(', ')} s (${REPEAT} run${REPEAT === 1 ? '' : 's'} each, alternating; the table has the fastest of each, all on the same weights)`)
console.log(`(b) against (a): ${((final('two').accuracy - final('single').accuracy) * 100).toFixed(2)} points, ${speedup.toFixed(2)}× faster (fastest against fastest; ${medianSpeedup.toFixed(2)}× median against median); two tasks at a time in one process: ${(replay.seconds / replayTwo.seconds).toFixed(2)}× faster than one (the parallelism the machine gives now); load average now ${loadavg().map(l => l.toFixed(1)).join(' ')}`)
console.log(`(e) bytes per round: ${(diloco / 1e6).toFixed(2)} MB (weights once + ${SHARDS} deltas of ${(weightBytes / 1e3).toFixed(0)} kB; providers fetch the weights too: ≤ ${(roundBytes.fetchedByProviders / 1e6).toFixed(2)} MB more) vs ${(perStep / 1e6).toFixed(1)} MB sending every step's gradient and weights (${(perStep / diloco).toFixed(0)}× more)`)

await mkdir('out', { recursive: true })
await writeFile(join('out', 'bench-train.png'), trainingPlot(scenarios.map(s => ({ points: results.get(s.key)!.lines, colour: s.colour }))))
console.log('wrote out/bench-train.png')
const figures = (key: Scenario['key']) => ({ testAccuracy: final(key).accuracy, wallS: final(key).wallS })
console.log(JSON.stringify({
  single: { ...figures('single'), runsS: runTimes('single') },
  two: { ...figures('two'), runsS: runTimes('two') },
  speedup: { fastest: speedup, median: medianSpeedup },
  dropout: figures('dropout'),
  poisonedMedian: figures('poisonedMedian'),
  poisonedMean: figures('poisonedMean'),
  bytesPerRound: { diloco, perStepGradients: perStep, providersFetchWeights: roundBytes.fetchedByProviders },
  oneProcess: { wallS: replay.seconds, twoAtATimeWallS: replayTwo.seconds },
}))
