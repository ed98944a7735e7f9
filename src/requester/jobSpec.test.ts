import { test } from 'node:test'
import assert from 'node:assert/strict'
import { codeOf, expandTasks, JobSpecError, mapSources, parseJobSpec, specSources } from './jobSpec.ts'

test('a range expands {i} into one task per index, with defaults filled in', () => {
  const spec = parseJobSpec({ runtime: 'wasi', module: 'm.wasm', range: { count: 3, args: ['--tile', '{i}', 'x{i}y'] } })
  assert.deepEqual(expandTasks(spec).map(t => t.args), [['--tile', '0', 'x0y'], ['--tile', '1', 'x1y'], ['--tile', '2', 'x2y']])
  assert.equal(spec.limits.memoryMb, 256)
  assert.equal(spec.maxAttempts, 3)
})

test('bad specs list every problem', () => {
  assert.throws(() => parseJobSpec({ runtime: 'lisp', module: 'm', range: { count: 1 } }), /runtime: runtime must be "wasi" or "docker"/)
  assert.throws(() => parseJobSpec({ runtime: 'wasi', module: '', tasks: [], bogus: 1 }), (error: unknown) => {
    assert.ok(error instanceof JobSpecError)
    assert.ok(error.issues.some(i => i.startsWith('module')))
    assert.ok(error.issues.some(i => i.startsWith('tasks')))
    assert.ok(error.issues.some(i => i.includes('bogus')))
    return true
  })
  assert.throws(() => parseJobSpec({ runtime: 'wasi', module: 'm', tasks: [{ args: [] }], range: { count: 1 } }), /either "tasks" or "range"/)
  assert.throws(() => parseJobSpec({ runtime: 'wasi', module: 'm', inputs: { '../etc/passwd': 'x' }, range: { count: 1 } }), /relative paths inside \/in/)
  assert.throws(() => parseJobSpec('not an object'), JobSpecError)
  assert.throws(() => parseJobSpec({ runtime: 'wasi', module: 'm', range: { count: 1 }, replication: 2, quorum: 3 }), /quorum cannot be more than replication/)
})

test('sources are listed once and can be replaced', () => {
  const spec = parseJobSpec({ runtime: 'wasi', module: 'm.wasm', inputs: { a: 'a.txt' }, tasks: [{ args: [], inputs: { b: 'a.txt' } }, { inputs: { c: 'c.txt' } }] })
  assert.deepEqual(specSources(spec).sort(), ['a.txt', 'c.txt', 'm.wasm'])
  const mapped = mapSources(spec, source => `cid:${source}`)
  assert.equal(mapped.runtime === 'wasi' && mapped.module, 'cid:m.wasm')
  assert.deepEqual(mapped.tasks?.[0]?.inputs, { b: 'cid:a.txt' })
  assert.deepEqual(mapped.inputs, { a: 'cid:a.txt' })
})

test('a docker job names an image and a command that goes before every task\'s args', () => {
  const spec = parseJobSpec({ runtime: 'docker', image: 'busybox.tar', command: ['sh', '-c'], inputs: { a: 'a.txt' }, range: { count: 2, args: ['echo {i}'] } })
  assert.deepEqual(expandTasks(spec).map(t => t.args), [['sh', '-c', 'echo 0'], ['sh', '-c', 'echo 1']])
  assert.deepEqual(specSources(spec).sort(), ['a.txt', 'busybox.tar'])
  assert.equal(codeOf(mapSources(spec, source => `cid:${source}`)), 'cid:busybox.tar')
  assert.throws(() => parseJobSpec({ runtime: 'docker', module: 'm.wasm', range: { count: 1 } }), (error: unknown) => {
    assert.ok(error instanceof JobSpecError)
    assert.ok(error.issues.some(i => i.startsWith('image')), error.message)
    assert.ok(error.issues.some(i => i.includes('module')), error.message)
    return true
  })
})
