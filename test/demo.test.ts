import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'

const ROOT = join(import.meta.dirname, '..')

// README's first command: the demo runs a paid grid on this machine and ends with its summary.
test('npm start: Mandelbrot tiles and a map-reduce of primes on three providers, the count right, the image written, every provider paid', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'scripts', 'demo.ts'), '--json'], { cwd: ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 })
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { tasks: number, providersUsed: number, primes: { below: number, count: number }, paidTotal: string, image: string, txCount: number }
  // 192 tiles, 20 prime ranges and the reduce tree's 3 + 1 sums.
  assert.equal(summary.tasks, 216)
  assert.equal(summary.providersUsed, 3)
  // π(2·10⁷), as tables of the prime-counting function give it.
  assert.deepEqual(summary.primes, { below: 20_000_000, count: 1_270_607 })
  // 192 × 0.01 + 20 × 0.05 + 4 × 0.01 CON.
  assert.equal(summary.paidTotal, '2.96 CON')
  assert.ok(summary.txCount > 0)
  const png = await readFile(summary.image)
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')])
  // What the providers' balances rose by is what the settlements paid.
  const earned = [...stdout.matchAll(/^ {2}provider-\d+ .*\(\+([\d.]+) CON\)$/gm)].map(match => Number(match[1]))
  assert.equal(earned.length, 3, stdout)
  assert.equal(Math.round(earned.reduce((sum, con) => sum + con, 0) * 100), 296)
})
