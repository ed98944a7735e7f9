// `npm run bench:fuzz [-- --cases N --seed S]`: tens of thousands of random and mutated messages on
// every wire protocol and API route of a real node, then a check that nothing changed.
import { parseArgs } from 'node:util'
import { runFuzz } from '../test/fuzz/fuzzer.ts'

const { values } = parseArgs({ options: { cases: { type: 'string' }, seed: { type: 'string' } } })
const cases = Number(values.cases ?? 10_000)
const seed = Number(values.seed ?? Date.now() % 1_000_000)
console.log(`fuzzing with ${cases} cases, seed ${seed} (rerun with --seed ${seed})`)
const report = await runFuzz({ cases, seed, log: line => console.log(`  ${line}`) })
console.log(`\n${report.cases} cases in ${report.seconds.toFixed(1)} s (${(report.cases / report.seconds).toFixed(0)} cases/s); no crash, no 5xx, no state change\n`)
console.log('| target | cases |\n|---|---:|')
for (const [target, count] of Object.entries(report.byTarget)) console.log(`| ${target} | ${count} |`)
console.log('\n| how the node answered | cases |\n|---|---:|')
for (const [answer, count] of Object.entries(report.answers).sort()) console.log(`| ${answer} | ${count} |`)
