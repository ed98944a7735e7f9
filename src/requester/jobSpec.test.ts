import { test } from 'node:test'
import assert from 'node:assert/strict'
import { codeOf, expandTasks, JobSpecError, mapSources, parseJobSpec, rangeTemplate, specSources } from './jobSpec.ts'
import { taskFromTemplate } from './taskTemplate.ts'

test('a range expands {i} into one task per index, with defaults filled in', () => {
  const spec = parseJobSpec({ runtime: 'wasi', module: 'm.wasm', range: { count: 3, args: ['--tile', '{i}', 'x{i}y'] } })
  assert.deepEqual(expandTasks(spec).map(t => t.args), [['--tile', '0', 'x0y'], ['--tile', '1', 'x1y'], ['--tile', '2', 'x2y']])
  assert.equal(spec.limits.memoryMb, 256)
  assert.equal(spec.maxAttempts, 3)
})

test('bad specs list every problem', () => {
  assert.throws(() => parseJobSpec({ runtime: 'lisp', module: 'm', range: { count: 1 } }), /runtime: runtime must be "wasi", "docker" or "webgpu"/)
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

test('a webgpu job names a WGSL module and a plan that goes, {i} filled in, before every task\'s args', () => {
  const gpu = {
    buffers: [{ name: 'a', binding: 0, input: 'a.bin' }, { name: 'p', binding: 1, params: 'u32' }, { name: 'c', binding: 2, output: 'c.bin', size: 64 }],
    passes: [{ entry: 'main', dispatch: ['{i}', 2] }],
  }
  const spec = parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu, inputs: { 'a.bin': 'a.bin' }, range: { count: 2, args: ['{i}'] } })
  const tasks = expandTasks(spec)
  assert.deepEqual(tasks.map(t => t.args.slice(1)), [['0'], ['1']])
  assert.deepEqual(JSON.parse(tasks[1]!.args[0]!).passes, [{ entry: 'main', dispatch: ['1', 2] }])
  assert.equal(codeOf(mapSources(spec, source => `cid:${source}`)), 'cid:k.wgsl')
})

test('a webgpu plan\'s problems are named: missing inputs, clashing bindings, bad sizes and dispatches', () => {
  const buffers = [{ name: 'a', binding: 0, input: 'a.bin' }, { name: 'c', binding: 0, output: 'c.bin', size: 6 }]
  assert.throws(() => parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu: { buffers, passes: [{ entry: 'main', dispatch: ['x'] }] }, range: { count: 1 } }), (error: unknown) => {
    assert.ok(error instanceof JobSpecError)
    assert.ok(error.issues.some(i => i.startsWith('gpu.buffers.1.size') && i.includes('multiples of 4')), error.message)
    assert.ok(error.issues.some(i => i.includes('"{i}"')), error.message)
    return true
  })
  const clash = [{ name: 'a', binding: 0, size: 4 }, { name: 'b', binding: 0, params: 'u32', size: 4 }, { name: 'c', binding: 0, size: 8 }]
  assert.throws(() => parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu: { buffers: clash, passes: [{ entry: 'main', dispatch: [1] }] }, range: { count: 1 } }), /buffer b needs exactly one of/)
  assert.throws(() => parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu: { buffers: [clash[0], clash[2]], passes: [{ entry: 'main', dispatch: [1] }] }, range: { count: 1 } }), /two buffers have the same binding 0/)
  assert.throws(() => parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu: { buffers: buffers.slice(0, 1), passes: [{ entry: 'main', dispatch: [1] }] }, range: { count: 1 } }), /gpu\.buffers\.0\.input: buffer a reads \/in\/a\.bin, which is not among the inputs/)
})

test('compare.tolerance names float files of /out with their bounds, and says what is wrong', () => {
  const spec = parseJobSpec({ runtime: 'wasi', module: 'm', range: { count: 1 }, compare: { tolerance: { 'c.bin': { type: 'f32', rel: 1e-5, abs: 1e-6 }, 'x/y.f64': { type: 'f64', abs: 0 } } } })
  assert.deepEqual(spec.compare?.tolerance?.['c.bin'], { type: 'f32', rel: 1e-5, abs: 1e-6 })
  const problems = (compare: unknown) => {
    try {
      parseJobSpec({ runtime: 'wasi', module: 'm', range: { count: 1 }, compare })
    } catch (error) {
      return (error as JobSpecError).issues.join('\n')
    }
    return ''
  }
  assert.match(problems({ tolerance: { 'c.bin': { type: 'f16', rel: 1e-3 } } }), /compare\.tolerance\.c\.bin\.type: type is "f32" or "f64"/)
  assert.match(problems({ tolerance: { 'c.bin': { type: 'f32' } } }), /give rel, abs or both/)
  assert.match(problems({ tolerance: { 'c.bin': { type: 'f32', rel: -1 } } }), /rel/)
  assert.match(problems({ tolerance: { 'c.bin': { type: 'f32', abs: 1, slack: 2 } } }), /slack/)
  assert.match(problems({ tolerance: { '../c.bin': { type: 'f32', abs: 1 } } }), /relative paths inside \/out/)
  assert.match(problems({ tolerance: {} }), /at least one file/)
})

test('a webgpu job\'s tolerance names outputs of its plan', () => {
  const gpu = { buffers: [{ name: 'c', binding: 0, output: 'c.bin', size: 16 }], passes: [{ entry: 'main', dispatch: [1] }] }
  assert.ok(parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu, range: { count: 1 }, compare: { tolerance: { 'c.bin': { type: 'f32', rel: 1e-6 } } } }))
  assert.throws(() => parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu, range: { count: 1 }, compare: { tolerance: { 'd.bin': { type: 'f32', rel: 1e-6 } } } }),
    /compare\.tolerance\.d\.bin: no buffer of the gpu plan is output to \/out\/d\.bin \(outputs: c\.bin\)/)
})

test('minGpuGflops is a floor for webgpu jobs only', () => {
  const gpu = { buffers: [{ name: 'c', binding: 0, output: 'c.bin', size: 16 }], passes: [{ entry: 'main', dispatch: [1] }] }
  assert.equal(parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu, range: { count: 1 }, constraints: { minGpuGflops: 2.5 } }).constraints.minGpuGflops, 2.5)
  assert.throws(() => parseJobSpec({ runtime: 'wasi', module: 'm', range: { count: 1 }, constraints: { minGpuGflops: 1 } }), /constraints\.minGpuGflops: minGpuGflops is for "webgpu" jobs/)
  assert.throws(() => parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu, range: { count: 1 }, constraints: { minGpuGflops: -1 } }), /constraints\.minGpuGflops/)
})

test('a range without stdin is one template that gives every task the args expanding it gives, in every runtime', () => {
  const gpu = { buffers: [{ name: 'c', binding: 0, output: 'c.bin', size: 64 }], passes: [{ entry: 'main', dispatch: ['{i}', 2] }] }
  const specs = [
    parseJobSpec({ runtime: 'wasi', module: 'm.wasm', range: { count: 3, args: ['--tile', '{i}', 'x{i}y'] } }),
    parseJobSpec({ runtime: 'docker', image: 'b.tar', command: ['sh', '-c', 'echo {i}'], range: { count: 3, args: ['echo {i}'] } }),
    parseJobSpec({ runtime: 'webgpu', module: 'k.wgsl', gpu, range: { count: 3, args: ['{i}'] } }),
  ]
  for (const spec of specs) {
    const template = rangeTemplate(spec)!
    assert.equal(template.count, 3)
    assert.deepEqual(expandTasks(spec).map((_, i) => taskFromTemplate({ ...template, env: {}, inputs: [] }, i).args), expandTasks(spec).map(t => t.args), spec.runtime)
  }
  assert.equal(rangeTemplate(parseJobSpec({ runtime: 'wasi', module: 'm', range: { count: 2, stdin: 'line {i}' } })), undefined, 'stdin ranges store their definitions')
  assert.equal(rangeTemplate(parseJobSpec({ runtime: 'wasi', module: 'm', tasks: [{ args: [] }] })), undefined)
})
