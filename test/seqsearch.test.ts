// The life-science example at a small size: a Smith-Waterman search mapped over database shards on
// a real local grid and merged by a reduce task there, checked against EMBOSS water and against one
// process searching the whole database.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exampleRunner } from '../examples/runExample.ts'
import { parseHits } from '../examples/seqsearch/hits.ts'
import { formatReport } from '../examples/seqsearch/report.ts'
import { runSeqSearch } from '../examples/seqsearch/seqsearch.ts'
import { DATABASE_FILES, EMBOSS_SHARE, parseFasta, parseSwissProt, QUERY_FILES, readSequenceFiles, SequenceFormatError, shardSequences, toFasta } from '../examples/seqsearch/sequences.ts'
import { waterScores } from '../examples/seqsearch/water.ts'
import { tempDir } from './helpers.ts'

const MATRIX = '/usr/share/EMBOSS/data/EBLOSUM62'

test('sequence files: FASTA and Swiss-Prot entries parse, shards balance residues and keep every sequence once', () => {
  const fasta = parseFasta('>a first one\nMKV\nLA*\n>b\nwwc\n', 'x.fa')
  assert.deepEqual(fasta, [{ id: 'a', residues: 'MKVLA*' }, { id: 'b', residues: 'WWC' }])
  assert.deepEqual(parseFasta(toFasta([{ id: 'long', residues: 'A'.repeat(130) }]), 'y.fa'), [{ id: 'long', residues: 'A'.repeat(130) }])
  const swiss = 'ID   P1_X   Reviewed;   5 AA.\nDE   a protein\nSQ   SEQUENCE   5 AA;\n     MKVLA\n//\nID   P2_X   Reviewed;   3 AA.\nSQ   SEQUENCE\n     W W C\n//\n'
  assert.deepEqual(parseSwissProt(swiss, 's.dat'), [{ id: 'P1_X', residues: 'MKVLA' }, { id: 'P2_X', residues: 'WWC' }])
  assert.throws(() => parseFasta('MKV\n>a\nK', 'bad.fa'), SequenceFormatError)
  assert.throws(() => parseSwissProt('ID   P1_X\nSQ\n  MK\n', 'cut.dat'), /no closing/)

  const sequences = [10, 50, 20, 30, 40, 5].map((n, i) => ({ id: `s${i}`, residues: 'A'.repeat(n) }))
  const shards = shardSequences(sequences, 3)
  assert.deepEqual(shards.flat().map(s => s.id).sort(), sequences.map(s => s.id).sort())
  const loads = shards.map(shard => shard.reduce((sum, s) => sum + s.residues.length, 0))
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 10, `unbalanced shards: ${loads}`)
  assert.throws(() => shardSequences(sequences, 7), RangeError)
})

test('the aligner scores gaps as water does and rejects bad input with a reason', async (t) => {
  const runner = await exampleRunner('swsearch')
  const dir = await tempDir('swsearch')
  t.after(async () => {
    await runner.close()
    await rm(dir, { recursive: true, force: true })
  })
  // The best alignment against gap3 needs a 3-residue gap (open + 2 × extend); x has residues that
  // score as X, u letters the matrix lacks (which EMBOSS scores 0 against everything).
  const query = join(dir, 'q.fa')
  const subject = join(dir, 's.fa')
  await writeFile(query, '>q\nWCWHWCWYWMWCW\n')
  await writeFile(subject, '>gap3\nWCWHWCAAAWYWMWCW\n>none\nGGGG\n>x\nWCWXXWCW\n>u\nWCWUOWCW\n')
  const inputs = [{ name: 'm', path: MATRIX }, { name: 'q.fa', path: query }, { name: 's.fa', path: subject }]
  const result = await runner.run(['--matrix', '/in/m', '--queries', '/in/q.fa', '--db', '/in/s.fa', '--top', '4'], { inputs })
  assert.equal(result.exitCode, 0, result.stderr)
  const hits = parseHits(Buffer.from(result.files.get('hits.jsonl')!).toString('utf8'), 'hits')
  const water = await waterScores(query, subject, { matrix: 'EBLOSUM62', gapOpen: 10, gapExtend: 0.5 })
  assert.deepEqual(hits.map(hit => hit.subject).sort(), ['gap3', 'none', 'u', 'x'])
  assert.equal(hits[0]!.subject, 'gap3')
  assert.deepEqual(hits.map(hit => hit.score), hits.map(hit => hit.score).sort((a, b) => b - a), 'best first')
  for (const hit of hits) assert.equal(hit.score, water.get(hit.subject), `score against ${hit.subject}`)
  assert.match(Buffer.from(result.stdout).toString('utf8'), /^\{"queries":1,"subjects":4,"pairs":4,"cells":468,/)

  // Merging hits split over two files keeps the best, negative scores included.
  const lines = Buffer.from(result.files.get('hits.jsonl')!).toString('utf8').split('\n').filter(Boolean)
  await writeFile(join(dir, 'a.jsonl'), `${lines[3]}\n${lines[0]}\n`)
  await writeFile(join(dir, 'b.jsonl'), `${lines[2]}\n${lines[1]}\n`)
  const parts = [{ name: 'a.jsonl', path: join(dir, 'a.jsonl') }, { name: 'b.jsonl', path: join(dir, 'b.jsonl') }]
  const merged = await runner.run(['--merge', '--top', '3', '/in/a.jsonl', '/in/b.jsonl'], { inputs: parts })
  assert.equal(merged.exitCode, 0, merged.stderr)
  assert.equal(Buffer.from(merged.files.get('hits.jsonl')!).toString('utf8'), lines.slice(0, 3).map(line => `${line}\n`).join(''))

  const fails = async (args: string[], message: RegExp) => {
    const bad = await runner.run(args, { inputs })
    assert.equal(bad.exitCode, 2, `${args.join(' ')} exited ${bad.exitCode}`)
    assert.match(bad.stderr, message)
  }
  await fails(['--matrix', '/in/m', '--queries', '/in/q.fa', '--top', '3'], /give --matrix, --queries and --db/)
  await fails(['--matrix', '/in/m', '--queries', '/in/q.fa', '--db', '/in/s.fa', '--top', '3', '--gap-extend', '0.3'], /multiple of 0\.5/)
  await fails(['--matrix', '/in/q.fa', '--queries', '/in/q.fa', '--db', '/in/s.fa', '--top', '3'], /header entry/)
  await fails(['--merge', '--top', '3', '/in/q.fa'], /line 1 is not a JSON object/)
  await fails(['--merge', '--top', '0', '/in/q.fa'], /--top must be in/)
})

test('the SIMD kernel scores every pair of the real data as the scalar one, and falls back to it past i16', async (t) => {
  const runner = await exampleRunner('swsearch')
  const dir = await tempDir('swsearch-simd')
  t.after(async () => {
    await runner.close()
    await rm(dir, { recursive: true, force: true })
  })
  const subjects = await readSequenceFiles(DATABASE_FILES.map(file => join(EMBOSS_SHARE, file)))
  const queries = await readSequenceFiles(QUERY_FILES.map(file => join(EMBOSS_SHARE, file)))
  // A query scoring 1600 × 11 against itself: 35,200 half units, past what an i16 lane holds.
  const long = { id: 'W1600', residues: 'W'.repeat(1600) }
  await writeFile(join(dir, 'q.fa'), toFasta([...queries, long]))
  await writeFile(join(dir, 'db.fa'), toFasta([...subjects, long]))
  const inputs = [{ name: 'm', path: MATRIX }, { name: 'q.fa', path: join(dir, 'q.fa') }, { name: 'db.fa', path: join(dir, 'db.fa') }]
  const search = async (extra: string[]) => {
    const args = ['--matrix', '/in/m', '--queries', '/in/q.fa', '--db', '/in/db.fa', '--top', String(subjects.length + 1), ...extra]
    const result = await runner.run(args, { inputs })
    assert.equal(result.exitCode, 0, result.stderr)
    return parseHits(Buffer.from(result.files.get('hits.jsonl')!).toString('utf8'), args.join(' '))
  }
  // water's penalties, and cheap gaps, whose long vertical runs keep the lazy F loop busy.
  for (const penalties of [[], ['--gap-open', '1', '--gap-extend', '0']]) {
    const simdHits = await search(penalties)
    assert.equal(simdHits.length, (queries.length + 1) * (subjects.length + 1))
    assert.deepEqual(simdHits, await search([...penalties, '--scalar']), `penalties ${penalties.join(' ')}`)
    if (penalties.length === 0) assert.equal(simdHits.find(hit => hit.query === 'W1600' && hit.subject === 'W1600')?.score, 17600)
  }
  await writeFile(join(dir, 'long.fa'), toFasta([long]))
  assert.equal((await waterScores(join(dir, 'long.fa'), join(dir, 'long.fa'), { matrix: 'EBLOSUM62', gapOpen: 10, gapExtend: 0.5 })).get('W1600'), 17600)
})

test('on a grid, the merged top hits equal one process searching everything, and water agrees on sampled pairs', async () => {
  const report = await runSeqSearch({ providers: 2, coresPerProvider: 1, shards: 3, queryBatches: 2, top: 5, waterQueries: 4 })
  console.log(formatReport(report))
  assert.deepEqual(report.water.mismatches, [])
  assert.ok(report.water.pairs >= 4 * 8, `only ${report.water.pairs} pairs checked with water`)
  assert.deepEqual(report.topHitMismatches, [])
  assert.equal(report.mapTasks, 6)
  assert.equal(report.providers.reduce((sum, p) => sum + p.tasks, 0), 6)
  assert.equal(report.hits.length, report.queries * 5)
  // Real neighbours are found: the human globins' best hits are their own entries in Swiss-Prot.
  assert.equal(report.hits.find(hit => hit.query === 'HBB_HUMAN')?.subject, 'HBB_HUMAN')
  assert.ok(report.gridGcups > 0 && report.singleGcups > 0)
  assert.equal(report.verified, true)
})
