/**
 * Big data on the grid: a word count as map → shuffle → reduce over text stored in shards on the
 * requester's content-addressed storage. Map: one task per shard, writing one file per reduce
 * partition (words hashed to partitions); reduce: task r takes partition r of every map output by
 * CID and writes its words' counts, sorted. The reduce outputs together must equal, byte for byte,
 * the counts of one Node process reading every shard, timed in the same run.
 *
 *   node examples/mapreduce/mapreduce.ts [--providers 2] [--cores 2] [--partitions 4] [--shard-mb 64]
 *                                        [--max-mb N] [SOURCE…]
 *
 * SOURCE: text files or tarballs (read as their files' contents), by default the Linux kernel's
 * source as Debian's linux-source-6.12 ships it. Prints a table and, last, one JSON line.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { EXAMPLES_BUILD_DIR } from '../../scripts/build-examples.ts'
import { buildExamples } from '../../scripts/build-examples.ts'
import { fileOutput, outputText, runJob, waitForOffers } from '../grid.ts'
import { countWords, sortLines } from './countWords.ts'
import { KERNEL_SOURCE, shardCorpus } from './corpus.ts'
import { formatReport, formatTopWords } from './report.ts'
import type { ConunClient } from '../../src/sdk/index.ts'
import type { TaskOutcome } from '../../src/requester/index.ts'
import { intFlag } from '../flags.ts'

const MODULE_PATH = join(EXAMPLES_BUILD_DIR, 'wordcount.wasm')
const TASK_TIMEOUT_MS = 600_000
const MiB = 1024 * 1024

export interface MapReduceOptions {
  readonly sources?: readonly string[]
  readonly providers?: number
  readonly coresPerProvider?: number
  /** Reduce tasks, and so files each map task writes. */
  readonly partitions?: number
  readonly shardBytes?: number
  /** Reads no more of the sources than this. */
  readonly maxBytes?: number
  readonly log?: (line: string) => void
}

export interface Stage {
  readonly tasks: number
  readonly seconds: number
  readonly bytesIn: number
  readonly bytesOut: number
}

export interface MapReduceReport {
  readonly sources: readonly string[]
  readonly providers: number
  readonly shards: number
  readonly partitions: number
  /** Text bytes stored on the requester, and the seconds the upload took. */
  readonly upload: { readonly bytes: number, readonly seconds: number }
  /** Map: shards in, partition files out (the shuffle); reduce: the shuffle in, counts out. */
  readonly map: Stage
  readonly reduce: Stage
  readonly words: number
  readonly distinct: number
  /** The Node baseline over the same shards. */
  readonly baselineSeconds: number
  /** Tasks per provider, over both jobs. */
  readonly perProvider: ReadonlyMap<string, number>
  /** The reduce outputs together are byte for byte the baseline's counts. */
  readonly verified: boolean
  /** Counts, "word<TAB>count\n" sorted by word (the reduce outputs in that order). */
  readonly counts: Buffer
}

interface TaskSummary { bytes: number, words: number, distinct: number, seconds: number }

async function summaryOf (client: ConunClient, task: TaskOutcome, what: string): Promise<TaskSummary> {
  const line = (await outputText(client, task, 'stdout')).trim()
  try {
    return JSON.parse(line) as TaskSummary
  } catch {
    throw new Error(`${what} ${task.idx} printed no summary: ${JSON.stringify(line.slice(0, 200))}`)
  }
}

/** Runs the whole example: shards, the baseline, then upload, map and reduce on a local grid. */
export async function runMapReduce (options: MapReduceOptions = {}): Promise<MapReduceReport> {
  const { sources = [KERNEL_SOURCE], providers: providerCount = 2, coresPerProvider = 2, partitions = 4, shardBytes = 64 * MiB, maxBytes } = options
  const log = options.log ?? (() => {})
  await buildExamples({ log: () => {} })
  const dir = await mkdtemp(join(tmpdir(), 'conun-mapreduce-'))
  try {
    const shards = await shardCorpus(sources, dir, shardBytes, maxBytes)
    const textBytes = shards.reduce((sum, shard) => sum + shard.bytes, 0)
    log(`${shards.length} shards, ${textBytes} bytes of text from ${sources.join(', ')}`)

    let started = performance.now()
    const baseline = await countWords(shards.map(shard => shard.path))
    const baselineSeconds = (performance.now() - started) / 1000
    log(`baseline: ${baseline.words} words, ${baseline.distinct} distinct, in ${baselineSeconds.toFixed(2)} s`)

    const grid = await startLocalGrid({ providers: providerCount, coresPerProvider })
    try {
      const client = grid.requester.client
      await waitForOffers(client, providerCount)
      started = performance.now()
      const stored = []
      for (const shard of shards) stored.push(await client.uploadFile(shard.path))
      const uploadSeconds = (performance.now() - started) / 1000
      log(`stored ${shards.length} shards in ${uploadSeconds.toFixed(2)} s`)

      const limits = { timeoutMs: TASK_TIMEOUT_MS, memoryMb: 512 }
      const map = await runJob(client, {
        name: 'wordcount-map',
        runtime: 'wasi',
        module: MODULE_PATH,
        tasks: stored.map(({ cid }) => ({ args: ['map', '--partitions', String(partitions), '/in/shard'], inputs: { shard: cid } })),
        limits,
      })
      // parts[m][r]: map task m's output for partition r.
      const parts = await Promise.all(map.tasks.map(async task => Promise.all(Array.from({ length: partitions }, async (_, r) => fileOutput(client, task, `part-${r}`)))))
      const shuffleBytes = parts.flat().reduce((sum, part) => sum + part.size, 0)
      log(`map: ${map.tasks.length} tasks in ${map.seconds.toFixed(2)} s, ${shuffleBytes} bytes to shuffle`)

      const reduce = await runJob(client, {
        name: 'wordcount-reduce',
        runtime: 'wasi',
        module: MODULE_PATH,
        tasks: Array.from({ length: partitions }, (_, r) => ({
          args: ['reduce', '--partition', String(r), '--partitions', String(partitions), ...parts.map((_, m) => `/in/map-${m}`)],
          inputs: Object.fromEntries(parts.map((part, m) => [`map-${m}`, part[r]!.cid])),
        })),
        limits,
      })
      const outputs = await Promise.all(reduce.tasks.map(async task => fileOutput(client, task, 'counts.tsv')))
      log(`reduce: ${reduce.tasks.length} tasks in ${reduce.seconds.toFixed(2)} s`)

      const reduced = await Promise.all(reduce.tasks.map(async task => summaryOf(client, task, 'reduce task')))
      const countsText = (await Promise.all(outputs.map(async ({ cid }) => (await client.contentBytes(cid)).toString('latin1')))).join('')
      const counts = Buffer.from(sortLines(countsText.split('\n').filter(line => line !== '')), 'latin1')
      const perProvider = new Map<string, number>()
      for (const task of [...map.tasks, ...reduce.tasks]) perProvider.set(task.provider!, (perProvider.get(task.provider!) ?? 0) + 1)
      const words = reduced.reduce((sum, s) => sum + s.words, 0)
      const distinct = reduced.reduce((sum, s) => sum + s.distinct, 0)
      return {
        sources,
        providers: providerCount,
        shards: shards.length,
        partitions,
        upload: { bytes: textBytes, seconds: uploadSeconds },
        map: { tasks: map.tasks.length, seconds: map.seconds, bytesIn: textBytes, bytesOut: shuffleBytes },
        reduce: { tasks: reduce.tasks.length, seconds: reduce.seconds, bytesIn: shuffleBytes, bytesOut: outputs.reduce((sum, o) => sum + o.size, 0) },
        words,
        distinct,
        baselineSeconds,
        perProvider,
        verified: counts.equals(baseline.text) && words === baseline.words && distinct === baseline.distinct,
        counts,
      }
    } finally {
      await grid.stop()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      providers: { type: 'string', default: '2' },
      cores: { type: 'string', default: '2' },
      partitions: { type: 'string', default: '4' },
      'shard-mb': { type: 'string', default: '64' },
      'max-mb': { type: 'string' },
    },
  })
  const started = Date.now()
  const report = await runMapReduce({
    sources: positionals.length > 0 ? positionals : [KERNEL_SOURCE],
    providers: intFlag(values, 'providers'),
    coresPerProvider: intFlag(values, 'cores'),
    partitions: intFlag(values, 'partitions'),
    shardBytes: intFlag(values, 'shard-mb') * MiB,
    ...(values['max-mb'] === undefined ? {} : { maxBytes: intFlag(values, 'max-mb') * MiB }),
    log: line => console.error(line),
  })
  console.log(formatReport(report))
  console.log('')
  console.log(formatTopWords(report.counts, 10))
  console.log(JSON.stringify({ examples: [{ name: 'mapreduce', category: 'big data', verified: report.verified, wallS: (Date.now() - started) / 1000, baselineS: report.baselineSeconds }] }))
  if (!report.verified) process.exitCode = 1
}
