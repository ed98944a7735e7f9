/**
 * Life science on the grid: Smith-Waterman search of protein queries against a sequence database
 * split into shards (EMBOSS's test data from Debian's emboss-test package). Map: one task per
 * query batch × shard, each writing its top hits per query; reduce: one task on the grid merging
 * them. Checked against a single-process search of the whole database with the same module (the
 * top hits must be identical) and against EMBOSS water's scores on a sample of pairs.
 *
 *   node examples/seqsearch/seqsearch.ts [--providers 2] [--cores 2] [--shards 8] [--query-batches 1]
 *                                        [--top 10] [--water-queries 11] [--water-subjects 8] [--all-vs-all]
 *
 * Prints a table (GCUPS per provider, for the grid and for one process) and, last, one JSON line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { EXAMPLES_BUILD_DIR } from '../../scripts/build-examples.ts'
import { fileOutput, outputText, runJob, waitForOffers } from '../grid.ts'
import { exampleRunner } from '../runExample.ts'
import { gcups, hitsByQuery, parseHits, parseSummary } from './hits.ts'
import { DATABASE_FILES, EMBOSS_SHARE, MATRIX_FILE, QUERY_FILES, readSequenceFiles, residueCount, shardSequences, toFasta } from './sequences.ts'
import { formatReport, formatTopHits } from './report.ts'
import { waterScores } from './water.ts'
import type { Hit } from './hits.ts'
import type { Sequence } from './sequences.ts'
import type { ConunClient } from '../../src/sdk/index.ts'
import type { TaskOutcome } from '../../src/requester/index.ts'
import { intFlag } from '../flags.ts'

/** EMBOSS water's defaults for proteins. */
const GAP_OPEN = 10
const GAP_EXTEND = 0.5
const MODULE = 'swsearch'
const MODULE_PATH = join(EXAMPLES_BUILD_DIR, `${MODULE}.wasm`)
const TASK_TIMEOUT_MS = 600_000

export interface SeqSearchOptions {
  readonly providers?: number
  readonly coresPerProvider?: number
  readonly shards?: number
  readonly queryBatches?: number
  /** Hits kept per query. */
  readonly top?: number
  /** Queries whose scores against a sample of subjects are checked with water. */
  readonly waterQueries?: number
  /** Subjects, spread over the database, each sampled query is scored against with water (besides its best hit). */
  readonly waterSubjects?: number
  /** Search every database sequence against the database (a few billion cells) instead of the globin and opsin queries. */
  readonly allVsAll?: boolean
  readonly log?: (line: string) => void
}

export interface ProviderRow {
  readonly peerId: string
  readonly tasks: number
  readonly cells: number
  /** Alignment time summed over its tasks (measured inside the module). */
  readonly seconds: number
  /** Cells per second of alignment time: the speed of one task slot. */
  readonly gcups: number
}

export interface SeqSearchReport {
  readonly queries: number
  readonly subjects: number
  readonly residues: number
  readonly cells: number
  readonly mapTasks: number
  readonly providers: ProviderRow[]
  /** Map job's wall time, submit to last result, and the grid's cells per second over it. */
  readonly gridSeconds: number
  readonly gridGcups: number
  readonly reduceSeconds: number
  readonly singleSeconds: number
  readonly singleGcups: number
  readonly water: { readonly pairs: number, readonly mismatches: ReadonlyArray<{ query: string, subject: string, ours: number, water: number | undefined }> }
  /** Queries whose merged top hits differ from the single-process search. */
  readonly topHitMismatches: string[]
  readonly verified: boolean
  readonly hits: Hit[]
}

interface MapTask {
  readonly args: string[]
  readonly inputs: Record<string, string>
}

const inputPath = (name: string) => `/in/${name}`

function searchArgs (queries: string, db: string, top: number): string[] {
  return ['--matrix', inputPath('matrix'), '--queries', inputPath(queries), '--db', inputPath(db), '--top', String(top), '--gap-open', String(GAP_OPEN), '--gap-extend', String(GAP_EXTEND)]
}

/** Up to `count` items spread evenly over the list, first and last included. */
function spread<T> (items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items]
  return Array.from({ length: count }, (_, k) => items[Math.round(k * (items.length - 1) / Math.max(1, count - 1))]!)
}

/** Cells and alignment time per provider, from the summaries the map tasks printed. */
async function tallyProviders (client: ConunClient, tasks: readonly TaskOutcome[]): Promise<{ providers: ProviderRow[], cells: number }> {
  const perProvider = new Map<string, { tasks: number, cells: number, seconds: number }>()
  let cells = 0
  for (const task of tasks) {
    const summary = parseSummary(await outputText(client, task, 'stdout'), `map task ${task.idx}`)
    const row = perProvider.get(task.provider!) ?? { tasks: 0, cells: 0, seconds: 0 }
    perProvider.set(task.provider!, { tasks: row.tasks + 1, cells: row.cells + summary.cells, seconds: row.seconds + summary.seconds })
    cells += summary.cells
  }
  return { providers: [...perProvider].map(([peerId, row]) => ({ peerId, ...row, gcups: gcups(row.cells, row.seconds) })), cells }
}

/** Merges the map tasks' hits in one task on the grid, which takes them by CID. */
async function reduceOnGrid (client: ConunClient, mapTasks: readonly TaskOutcome[], top: number): Promise<{ hits: string, seconds: number }> {
  const inputs: Record<string, string> = {}
  for (const task of mapTasks) inputs[`hits-${task.idx}.jsonl`] = (await fileOutput(client, task, 'hits.jsonl')).cid
  const args = ['--merge', '--top', String(top), ...Object.keys(inputs).map(inputPath)]
  const reduce = await runJob(client, { name: 'seqsearch-reduce', runtime: 'wasi', module: MODULE_PATH, tasks: [{ args, inputs }], limits: { timeoutMs: TASK_TIMEOUT_MS } })
  return { hits: (await client.contentBytes((await fileOutput(client, reduce.tasks[0]!, 'hits.jsonl')).cid)).toString('utf8'), seconds: reduce.seconds }
}

/** Runs the whole example: data, single-process baseline, water check, map and reduce on a local grid. */
export async function runSeqSearch (options: SeqSearchOptions = {}): Promise<SeqSearchReport> {
  const { providers: providerCount = 2, coresPerProvider = 2, shards: shardCount = 8, queryBatches = 1, top = 10, waterQueries = 11, waterSubjects = 8, allVsAll = false } = options
  const log = options.log ?? (() => {})
  const share = (file: string) => join(EMBOSS_SHARE, file)
  const subjects = await readSequenceFiles(DATABASE_FILES.map(share))
  const queries = allVsAll ? subjects : await readSequenceFiles(QUERY_FILES.map(share))
  const matrix = share(MATRIX_FILE)
  const dir = await mkdtemp(join(tmpdir(), 'conun-seqsearch-'))
  const runner = await exampleRunner(MODULE)
  try {
    const write = async (name: string, sequences: readonly Sequence[]) => {
      const path = join(dir, name)
      await writeFile(path, toFasta(sequences))
      return path
    }
    const shards = shardSequences(subjects, shardCount)
    const batches = shardSequences(queries, queryBatches)
    log(`${queries.length} queries (${residueCount(queries)} residues) × ${subjects.length} subjects (${residueCount(subjects)} residues) in ${shards.length} shards`)

    // The baseline: one process searches the whole database.
    const single = await runner.run(searchArgs('queries.fa', 'db.fa', top), {
      inputs: [{ name: 'matrix', path: matrix }, { name: 'queries.fa', path: await write('queries.fa', queries) }, { name: 'db.fa', path: await write('db.fa', subjects) }],
      timeoutMs: TASK_TIMEOUT_MS,
    })
    if (single.exitCode !== 0) throw new Error(`the single-process search failed: ${single.stderr}`)
    const singleHits = parseHits(Buffer.from(single.files.get('hits.jsonl') ?? new Uint8Array()).toString('utf8'), 'single-process hits')
    const singleSummary = parseSummary(Buffer.from(single.stdout).toString('utf8'), 'single-process search')
    log(`single process: ${singleSummary.cells} cells in ${singleSummary.seconds.toFixed(2)} s`)

    const water = await checkAgainstWater(runner, dir, matrix, spread(queries, waterQueries), subjects, waterSubjects, singleHits)
    log(`water: ${water.pairs} pairs, ${water.mismatches.length} differ`)

    const grid = await startLocalGrid({ providers: providerCount, coresPerProvider })
    try {
      const client = grid.requester.client
      await waitForOffers(client, providerCount)
      const shardFiles = await Promise.all(shards.map(async (shard, s) => write(`shard-${s}.fa`, shard)))
      const tasks: MapTask[] = []
      for (const [b, batch] of batches.entries()) {
        const queriesFile = await write(`queries-${b}.fa`, batch)
        for (const shardFile of shardFiles) tasks.push({ args: searchArgs('queries.fa', 'shard.fa', top), inputs: { 'queries.fa': queriesFile, 'shard.fa': shardFile } })
      }
      const map = await runJob(client, { name: 'seqsearch-map', runtime: 'wasi', module: MODULE_PATH, inputs: { matrix }, tasks, limits: { timeoutMs: TASK_TIMEOUT_MS } })
      const { providers, cells } = await tallyProviders(client, map.tasks)
      log(`map: ${map.tasks.length} tasks in ${map.seconds.toFixed(2)} s`)
      const reduce = await reduceOnGrid(client, map.tasks, top)
      const gridHits = parseHits(reduce.hits, 'merged hits')

      const want = hitsByQuery(singleHits)
      const got = hitsByQuery(gridHits)
      const topHitMismatches = queries.map(q => q.id).filter(id => JSON.stringify(want.get(id)) !== JSON.stringify(got.get(id)))
      return {
        queries: queries.length,
        subjects: subjects.length,
        residues: residueCount(subjects),
        cells,
        mapTasks: tasks.length,
        providers,
        gridSeconds: map.seconds,
        gridGcups: gcups(cells, map.seconds),
        reduceSeconds: reduce.seconds,
        singleSeconds: singleSummary.seconds,
        singleGcups: gcups(singleSummary.cells, singleSummary.seconds),
        water,
        topHitMismatches,
        verified: water.pairs > 0 && water.mismatches.length === 0 && topHitMismatches.length === 0 && cells === singleSummary.cells,
        hits: gridHits,
      }
    } finally {
      await grid.stop()
    }
  } finally {
    await runner.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Scores the sample queries against a sample of subjects (each query's best hit and subjects spread
 * over the database) with the WebAssembly module, and with water; every score must be equal.
 */
async function checkAgainstWater (runner: Awaited<ReturnType<typeof exampleRunner>>, dir: string, matrix: string, queries: readonly Sequence[], subjects: readonly Sequence[], subjectCount: number, hits: readonly Hit[]): Promise<SeqSearchReport['water']> {
  const best = new Set(queries.map(q => hits.find(hit => hit.query === q.id)?.subject))
  const spreadOut = new Set(spread(subjects, subjectCount))
  const sample = subjects.filter(s => best.has(s.id) || spreadOut.has(s))
  const subjectsFile = join(dir, 'water-subjects.fa')
  const queriesFile = join(dir, 'water-queries.fa')
  await writeFile(subjectsFile, toFasta(sample))
  await writeFile(queriesFile, toFasta(queries))
  const result = await runner.run(searchArgs('queries.fa', 'subjects.fa', sample.length), {
    inputs: [{ name: 'matrix', path: matrix }, { name: 'queries.fa', path: queriesFile }, { name: 'subjects.fa', path: subjectsFile }],
    timeoutMs: TASK_TIMEOUT_MS,
  })
  if (result.exitCode !== 0) throw new Error(`the sample search failed: ${result.stderr}`)
  const ours = hitsByQuery(parseHits(Buffer.from(result.files.get('hits.jsonl') ?? new Uint8Array()).toString('utf8'), 'sample hits'))
  const mismatches: Array<{ query: string, subject: string, ours: number, water: number | undefined }> = []
  let pairs = 0
  for (const query of queries) {
    const queryFile = join(dir, `water-${pairs}.fa`)
    await writeFile(queryFile, toFasta([query]))
    const reference = await waterScores(queryFile, subjectsFile, { matrix: basename(matrix), gapOpen: GAP_OPEN, gapExtend: GAP_EXTEND })
    for (const hit of ours.get(query.id) ?? []) {
      pairs++
      if (reference.get(hit.subject) !== hit.score) mismatches.push({ query: query.id, subject: hit.subject, ours: hit.score, water: reference.get(hit.subject) })
    }
    if ((ours.get(query.id) ?? []).length !== sample.length) throw new Error(`the sample search scored ${ours.get(query.id)?.length ?? 0} of ${sample.length} subjects for ${query.id}`)
  }
  return { pairs, mismatches }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      providers: { type: 'string', default: '2' },
      cores: { type: 'string', default: '2' },
      shards: { type: 'string', default: '8' },
      'query-batches': { type: 'string', default: '1' },
      top: { type: 'string', default: '10' },
      'water-queries': { type: 'string', default: '11' },
      'water-subjects': { type: 'string', default: '8' },
      'all-vs-all': { type: 'boolean', default: false },
    },
  })
  const started = Date.now()
  const report = await runSeqSearch({
    providers: intFlag(values, 'providers'),
    coresPerProvider: intFlag(values, 'cores'),
    shards: intFlag(values, 'shards'),
    queryBatches: intFlag(values, 'query-batches'),
    top: intFlag(values, 'top'),
    waterQueries: intFlag(values, 'water-queries'),
    waterSubjects: intFlag(values, 'water-subjects'),
    allVsAll: values['all-vs-all'],
    log: line => console.error(line),
  })
  console.log(formatReport(report))
  console.log('')
  console.log(formatTopHits(report.hits, 11, 2))
  console.log(JSON.stringify({ examples: [{ name: 'seqsearch', category: 'life science', verified: report.verified, wallS: (Date.now() - started) / 1000, baselineS: report.singleSeconds, tasks: report.mapTasks + 1, providers: report.providers.length, gridS: report.gridSeconds + report.reduceSeconds }] }))
  if (!report.verified) process.exitCode = 1
}
