// `npm run examples` at the small size for the drivers that have no test of their own (prime
// counting, the Mandelbrot still), each on its own grid, and a driver that fails.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EXAMPLES, formatResults, resultsLine, runExample } from '../examples/runAll.ts'

test('every example is registered once, with a driver and a category of the seed', () => {
  const names = EXAMPLES.map(entry => entry.name)
  assert.deepEqual(names, [...new Set(names)])
  for (const entry of EXAMPLES) assert.ok(['science', 'cgi', 'life science', 'big data', 'deep learning'].includes(entry.category), entry.name)
  assert.ok(names.includes('primes') && names.includes('mandelbrot') && names.includes('animation') && names.includes('seqsearch'))
})

test('the prime and Mandelbrot drivers run small on a grid, match their references and report tasks and providers', async () => {
  const results = []
  for (const name of ['primes', 'mandelbrot']) results.push(...await runExample(EXAMPLES.find(entry => entry.name === name)!, { small: true }))
  console.log(formatResults(results))
  assert.deepEqual(results.map(r => [r.name, r.verified, r.tasks]), [['primes', true, 4], ['mandelbrot', true, 12]])
  // Which of the 2 providers got the few tasks is up to the scheduler: one may take them all.
  for (const result of results) assert.ok(result.providers! >= 1 && result.providers! <= 2, `${result.name}: ${result.providers} providers`)
  for (const result of results) assert.ok(result.gridS! > 0 && result.wallS > result.gridS! && result.baselineS !== null && result.baselineS > 0 && result.processS >= result.wallS, result.name)
  const line = JSON.parse(resultsLine(results)) as { examples: Array<Record<string, unknown>> }
  assert.deepEqual(Object.keys(line.examples[0]!), ['name', 'category', 'verified', 'wallS', 'baselineS', 'tasks', 'providers', 'gridS'])
  assert.equal(line.examples[1]!.category, 'cgi')
})

test('a driver that fails is reported unverified, with why', async () => {
  const [result] = await runExample({ name: 'broken', category: 'science', driver: 'no-such-driver.ts', args: [], smallArgs: [] }, { small: true })
  assert.equal(result!.verified, false)
  assert.equal(result!.baselineS, null)
  assert.match(result!.error ?? '', /exited 1 without a summary line/)
  assert.match(formatResults([result!]), /\| broken \| science \| — \| — \| — \| — \| [\d.]+ s \| NO \(the driver exited 1/)
})
