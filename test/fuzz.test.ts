// A few hundred random and mutated messages on every wire protocol and API route of a real node
// (npm run bench:fuzz runs tens of thousands): no crash, no 5xx, no state change.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runFuzz } from './fuzz/fuzzer.ts'

test('fuzzing every protocol and API route changes nothing and the node keeps serving', async () => {
  const report = await runFuzz({ cases: 400, seed: Number(process.env.CONUN_FUZZ_SEED ?? 7) })
  assert.equal(report.cases, 400, 'every case got an answer')
  assert.ok((report.answers['gossip published'] ?? 0) > 20, 'gossip reached the requester')
  for (const [target, cases] of Object.entries(report.byTarget)) assert.ok(cases > 20, `${target} got ${cases} cases`)
  console.log(`fuzz: ${report.cases} cases in ${report.seconds.toFixed(1)} s: ${JSON.stringify(report.answers)}`)
})
