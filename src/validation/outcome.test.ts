import assert from 'node:assert/strict'
import { it } from 'node:test'
import { inlineCid } from '../storage/index.ts'
import { outcomeHash, outcomeShape, roundedStdout } from './outcome.ts'
import type { TaskResult } from '../net/index.ts'

const result = (stdout: string): TaskResult => {
  const bytes = Buffer.from(stdout)
  const ref = { cid: inlineCid(bytes), size: bytes.byteLength, inline: bytes.toString('base64') }
  return { taskId: '0', attempt: 1, status: 'exit', exitCode: 0, stdout: ref, stderr: ref, files: [], usage: { wallMs: 1, memoryBytes: 0 } }
}

it('by default outputs must be identical', () => {
  assert.equal(outcomeHash(result('pi 3.14159265')), outcomeHash(result('pi 3.14159265')))
  assert.notEqual(outcomeHash(result('pi 3.14159265')), outcomeHash(result('pi 3.14159266')))
})

it('with significantDigits, numbers that round the same agree, and anything else still must match', () => {
  const compare = { significantDigits: 6 }
  assert.equal(outcomeHash(result('energy -1.23456789e-3 after 100 steps\n'), compare), outcomeHash(result('energy -1.23456801e-3 after 100 steps\n'), compare))
  assert.notEqual(outcomeHash(result('energy -1.2345e-3\n'), compare), outcomeHash(result('energy -1.2346e-3\n'), compare))
  assert.notEqual(outcomeHash(result('energy 1.5\n'), compare), outcomeHash(result('Energy 1.5\n'), compare))
  assert.equal(roundedStdout('x=0.30000000000000004 y=12', 6), 'x=0.3 y=12')
})

it('the shape of an outcome counts toleranced files by size, everything else exactly', () => {
  const withFile = (cid: string, size: number, exitCode = 0): TaskResult => ({ ...result('done\n'), exitCode, files: [{ path: 'c.bin', cid, size }, { path: 'n.txt', cid: 'n1', size: 2 }] })
  const compare = { tolerance: { 'c.bin': { type: 'f32' as const, rel: 1e-6 } } }
  assert.equal(outcomeShape(withFile('a', 8), compare), outcomeShape(withFile('b', 8), compare))
  assert.notEqual(outcomeHash(withFile('a', 8), compare), outcomeHash(withFile('b', 8), compare), 'the exact outcome still tells them apart')
  assert.notEqual(outcomeShape(withFile('a', 8), compare), outcomeShape(withFile('a', 12), compare))
  assert.notEqual(outcomeShape(withFile('a', 8), compare), outcomeShape(withFile('a', 8, 1), compare))
})
