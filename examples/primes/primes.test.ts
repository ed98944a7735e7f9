import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { exampleRunner } from '../runExample.ts'
import type { ExampleRun } from '../runExample.ts'
import { countPrimesJs, primeRanges, primeTaskArgs, reducePrimeCounts } from './primes.ts'

let runner: Awaited<ReturnType<typeof exampleRunner>>

before(async () => {
  runner = await exampleRunner('primes')
})

after(async () => {
  await runner?.close()
})

/** Runs the module in conun's sandbox, with stdout as text. */
async function run (args: string[]): Promise<Omit<ExampleRun, 'stdout'> & { stdout: string }> {
  const result = await runner.run(args)
  return { ...result, stdout: Buffer.from(result.stdout).toString('utf8') }
}

async function countPrimesWasm (from: number, to: number): Promise<string> {
  const result = await run(['--from', String(from), '--to', String(to)])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.match(result.stdout, /^\d+\n$/)
  return result.stdout
}

test('the reference counter knows the classic values', () => {
  assert.equal(countPrimesJs(0, 10), 4)
  assert.equal(countPrimesJs(0, 100), 25)
  assert.equal(countPrimesJs(0, 1_000_000), 78_498)
  assert.equal(countPrimesJs(2, 3), 1)
  assert.equal(countPrimesJs(0, 2), 0)
  assert.equal(countPrimesJs(7, 7), 0)
  assert.throws(() => countPrimesJs(5, 3), RangeError)
})

test('primeRanges splits [0, limit) into contiguous, nearly equal ranges', () => {
  assert.deepEqual(primeRanges(10, 3), [{ from: 0, to: 4 }, { from: 4, to: 7 }, { from: 7, to: 10 }])
  const ranges = primeRanges(20_000_000, 20)
  assert.equal(ranges.length, 20)
  assert.equal(ranges[0]!.from, 0)
  assert.equal(ranges.at(-1)!.to, 20_000_000)
  for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i]!.from, ranges[i - 1]!.to)
  assert.deepEqual(primeRanges(2, 4).map((r) => r.to - r.from), [1, 1, 0, 0])
  assert.deepEqual(primeTaskArgs({ from: 5, to: 9 }), ['--from', '5', '--to', '9'])
  assert.throws(() => primeRanges(10, 0), RangeError)
})

test('reducePrimeCounts sums the printed counts and rejects anything else', () => {
  assert.equal(reducePrimeCounts(['4\n', '21\n', ' 0 ']), 25)
  assert.equal(reducePrimeCounts([]), 0)
  assert.throws(() => reducePrimeCounts(['4\n', 'oops\n']), /task 1 printed/)
  assert.throws(() => reducePrimeCounts(['-3']), /not a count/)
})

test('wasm counts equal the reference on small, edge and large ranges', async () => {
  const ranges: Array<[number, number]> = [
    [0, 0], [0, 1], [0, 2], [0, 3], [2, 3], [3, 4], [1, 2], [0, 10], [9, 30],
    [0, 1_000_000], [999_983, 999_984], [1_000_000, 1_000_003],
    [19_000_000, 20_000_000], [123_456_789, 123_556_789],
    [4_294_967_291, 4_294_967_312], // around 2^32
    [1e12, 1e12 + 200_000],
  ]
  for (const [from, to] of ranges) {
    assert.equal(await countPrimesWasm(from, to), `${countPrimesJs(from, to)}\n`, `[${from}, ${to})`)
  }
  // Every small range, to catch off-by-one errors at the ends.
  for (let from = 0; from < 40; from++) {
    for (let to = from; to < 45; to += 3) assert.equal(await countPrimesWasm(from, to), `${countPrimesJs(from, to)}\n`, `[${from}, ${to})`)
  }
})

test('π(10^6) = 78498 from several tasks and the reduce step', async () => {
  const ranges = primeRanges(1_000_000, 7)
  const stdouts: string[] = []
  for (const range of ranges) {
    const result = await run(primeTaskArgs(range))
    assert.equal(result.exitCode, 0, result.stderr)
    stdouts.push(result.stdout)
  }
  assert.equal(reducePrimeCounts(stdouts), 78_498)
})

test('job.json covers [0, 2·10^7) in contiguous tasks and reduces to π(2·10^7) = 1270607', async () => {
  const jobPath = resolve(import.meta.dirname, 'job.json')
  const job = JSON.parse(readFileSync(jobPath, 'utf8')) as { runtime: string, module: string, tasks: Array<{ args: string[] }> }
  assert.equal(job.runtime, 'wasi')
  assert.ok(existsSync(resolve(import.meta.dirname, job.module)), `${job.module} does not exist relative to job.json`)
  let expectedFrom = 0
  const stdouts: string[] = []
  for (const task of job.tasks) {
    const [fromFlag, from, toFlag, to] = task.args
    assert.equal(fromFlag, '--from')
    assert.equal(toFlag, '--to')
    assert.equal(Number(from), expectedFrom)
    expectedFrom = Number(to)
    const result = await run(task.args)
    assert.equal(result.exitCode, 0, result.stderr)
    stdouts.push(result.stdout)
  }
  assert.equal(expectedFrom, 20_000_000)
  assert.equal(reducePrimeCounts(stdouts), 1_270_607)
})

test('bad arguments exit with status 2 and say why', async () => {
  const reversed = await run(['--from', '5', '--to', '3'])
  assert.equal(reversed.exitCode, 2)
  assert.match(reversed.stderr, /--from 5 is greater than --to 3/)
  const tooBig = await run(['--from', '0', '--to', '9007199254740993'])
  assert.equal(tooBig.exitCode, 2)
  assert.match(tooBig.stderr, /at most 2\^53/)
  const garbage = await run(['--from', '1e3', '--to', '2000'])
  assert.equal(garbage.exitCode, 2)
  assert.match(garbage.stderr, /--from must be an integer/)
  const missing = await run(['--to', '10'])
  assert.equal(missing.exitCode, 2)
  assert.match(missing.stderr, /missing options/)
  assert.equal(missing.stdout, '')
})
