// The big-data example at a small size: a word count mapped over shards of real text on a local
// grid, shuffled by hash partition and reduced by CID, checked against one Node process and
// against coreutils (`tr | sort | uniq -c`), an independent tokeniser and sort.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { exampleRunner } from '../examples/runExample.ts'
import { countWords } from '../examples/mapreduce/countWords.ts'
import { CorpusError, shardCorpus } from '../examples/mapreduce/corpus.ts'
import { runMapReduce } from '../examples/mapreduce/mapreduce.ts'
import { formatReport } from '../examples/mapreduce/report.ts'
import { tempDir } from './helpers.ts'

const TEXTS = ['README.md', 'examples/docker-wordcount/texts/raven.txt', 'examples/docker-wordcount/texts/tyger.txt', 'examples/docker-wordcount/texts/ozymandias.txt']

/** Word counts of `text` by coreutils, as "word<TAB>count\n" lines in byte order. */
async function coreutilsCounts (text: Buffer): Promise<string> {
  const pipeline = "tr -cs 'A-Za-z' '\\n' | tr 'A-Z' 'a-z' | grep -v '^$' | sort | uniq -c | awk '{ print $2 \"\\t\" $1 }'"
  const child = spawn('sh', ['-c', pipeline], { env: { ...process.env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'inherit'] })
  child.stdin.end(text)
  const chunks: Buffer[] = []
  for await (const chunk of child.stdout) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('latin1')
}

test('shards end at line ends and hold the sources\' text once; a tarball is read as its files\' contents', async (t) => {
  const dir = await tempDir('corpus')
  t.after(() => rm(dir, { recursive: true, force: true }))
  const text = Buffer.concat(await Promise.all(TEXTS.map(async path => readFile(path))))
  const shards = await shardCorpus(TEXTS, dir, 10_000)
  assert.ok(shards.length >= 8, `${shards.length} shards`)
  const contents = await Promise.all(shards.map(async shard => readFile(shard.path)))
  assert.deepEqual(Buffer.concat(contents), text)
  for (const [s, content] of contents.slice(0, -1).entries()) {
    assert.equal(content.at(-1), 10, `shard ${s} ends at a line end`)
    assert.equal(content.length, shards[s]!.bytes)
  }
  const capped = await shardCorpus(TEXTS, await tempDir('corpus-capped'), 10_000, 25_000)
  assert.equal(capped.reduce((sum, shard) => sum + shard.bytes, 0), 25_000)
  await rm(join(capped[0]!.path, '..'), { recursive: true, force: true })

  await promisify(execFile)('tar', ['-cJf', join(dir, 'texts.tar.xz'), ...TEXTS.slice(1)])
  const fromTar = await shardCorpus([join(dir, 'texts.tar.xz')], await tempDir('corpus-tar'), 1_000_000)
  assert.deepEqual(await readFile(fromTar[0]!.path), Buffer.concat(await Promise.all(TEXTS.slice(1).map(async path => readFile(path)))))
  await rm(join(fromTar[0]!.path, '..'), { recursive: true, force: true })
  await assert.rejects(shardCorpus([join(dir, 'missing.txt')], dir, 1000), CorpusError)
})

test('map and reduce in the sandbox count as coreutils do, across read chunks, and refuse bad input with a reason', async (t) => {
  const runner = await exampleRunner('wordcount')
  const dir = await tempDir('wordcount')
  t.after(async () => {
    await runner.close()
    await rm(dir, { recursive: true, force: true })
  })
  // Past the module's 1 MiB reads, with words cut by their ends, and one word longer than a read.
  const readme = await readFile('README.md')
  const text = Buffer.concat([...Array.from({ length: Math.ceil(3e6 / readme.length) }, () => readme), Buffer.from(' '), Buffer.alloc(3 << 20, 'Q'), Buffer.from('\nlast')])
  await writeFile(join(dir, 'text'), text)
  const map = await runner.run(['map', '--partitions', '3', '/in/text'], { inputs: [{ name: 'text', path: join(dir, 'text') }] })
  assert.equal(map.exitCode, 0, map.stderr)
  assert.deepEqual([...map.files.keys()].sort(), ['part-0', 'part-1', 'part-2'])
  const summary = JSON.parse(Buffer.from(map.stdout).toString('utf8')) as { bytes: number, words: number }
  assert.equal(summary.bytes, text.length)

  const reduced: string[] = []
  for (let r = 0; r < 3; r++) {
    await writeFile(join(dir, `part-${r}`), map.files.get(`part-${r}`)!)
    const reduce = await runner.run(['reduce', '--partition', String(r), '--partitions', '3', '/in/a', '/in/b'], { inputs: [{ name: 'a', path: join(dir, `part-${r}`) }, { name: 'b', path: join(dir, `part-${r}`) }] })
    assert.equal(reduce.exitCode, 0, reduce.stderr)
    reduced.push(Buffer.from(reduce.files.get('counts.tsv')!).toString('latin1'))
  }
  // Each partition is sorted; its words are its own; the same map output twice doubles every count.
  const reference = await coreutilsCounts(text)
  const doubled = reference.split('\n').filter(Boolean).map(line => line.replace(/\t(\d+)$/, (_, n: string) => `\t${2 * Number(n)}`))
  const lines = reduced.flatMap(part => part.split('\n').filter(Boolean))
  assert.deepEqual([...lines].sort(), [...doubled].sort())
  for (const part of reduced) {
    const words = part.split('\n').filter(Boolean).map(line => line.split('\t')[0]!)
    assert.deepEqual(words, [...words].sort(), 'sorted by word')
  }
  assert.ok(lines.includes(`${'q'.repeat(3 << 20)}\t2`), 'the 3 MiB word')
  // The Node baseline agrees too.
  assert.equal((await countWords([join(dir, 'text')])).text.toString('latin1'), reference)

  const fails = async (args: string[], inputs: Array<{ name: string, path: string }>, message: RegExp) => {
    const bad = await runner.run(args, { inputs })
    assert.notEqual(bad.exitCode, 0, `${args.join(' ')} exited 0`)
    assert.match(bad.stderr, message)
  }
  const part1 = [{ name: 'p', path: join(dir, 'part-1') }]
  await fails(['reduce', '--partition', '0', '--partitions', '3', '/in/p'], part1, /holds a word of partition 1, not 0/)
  await writeFile(join(dir, 'bad'), 'word\t12\nWord\t3\n')
  await fails(['reduce', '--partition', '0', '--partitions', '1', '/in/p'], [{ name: 'p', path: join(dir, 'bad') }], /line 2 is not "word<TAB>count"/)
  await writeFile(join(dir, 'cut'), 'word\t12')
  await fails(['reduce', '--partition', '0', '--partitions', '1', '/in/p'], [{ name: 'p', path: join(dir, 'cut') }], /ends inside line 1/)
  await fails(['map', '/in/p'], part1, /give --partitions/)
  await fails(['reduce', '--partition', '3', '--partitions', '3', '/in/p'], part1, /0 <= r < R/)
  await fails(['sort', '/in/p'], part1, /give map or reduce/)
  await fails(['map', '--partitions', '2', '/in/none'], part1, /cannot open \/in\/none/)
  await fails(['map', '--partitions', '2', 'p'], part1, /p is not a path inside \/in or \/out/)
})

test('on a grid, the reduce outputs together equal one process\'s counts and coreutils\'', async () => {
  const report = await runMapReduce({ sources: TEXTS, providers: 2, coresPerProvider: 1, partitions: 3, shardBytes: 16_000 })
  console.log(formatReport(report))
  assert.equal(report.verified, true)
  const text = Buffer.concat(await Promise.all(TEXTS.map(async path => readFile(path))))
  assert.equal(report.counts.toString('latin1'), await coreutilsCounts(text))
  assert.ok(report.shards >= 5, `${report.shards} shards`)
  assert.equal(report.upload.bytes, text.length)
  assert.equal(report.map.tasks, report.shards)
  assert.equal(report.reduce.tasks, 3)
  assert.equal(report.reduce.bytesIn, report.map.bytesOut)
  assert.equal(report.reduce.bytesOut, report.counts.length)
  assert.equal([...report.perProvider.values()].reduce((sum, tasks) => sum + tasks, 0), report.shards + 3)
})
