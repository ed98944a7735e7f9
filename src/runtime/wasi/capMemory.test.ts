import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { capMemory, PAGE_BYTES } from './capMemory.ts'
import { TaskFailure } from './errors.ts'
import { HEADER, name, section } from './fixtures/wasmBytes.ts'
import { encodeLeb } from './wasmBinary.ts'
import { wasm, type WasmMemory } from './webAssembly.ts'

/** A module defining one memory (and exporting it as "memory"), after a custom section. */
function definedMemory(min: number, max?: number): Uint8Array {
  const limits = max === undefined ? [0x00, ...encodeLeb(min)] : [0x01, ...encodeLeb(min), ...encodeLeb(max)]
  return Uint8Array.from([
    ...HEADER,
    ...section(0, [...name('note'), 1, 2, 3]),
    ...section(5, [1, ...limits]),
    ...section(7, [1, ...name('memory'), 0x02, 0]),
  ])
}

function instantiatedMemory(bytes: Uint8Array): WasmMemory {
  const instance = new wasm.Instance(new wasm.Module(bytes), {})
  return instance.exports.memory as WasmMemory
}

function failureOf(fn: () => unknown): TaskFailure {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof TaskFailure)
    return err
  }
  assert.fail('expected a TaskFailure')
}

describe('capMemory', () => {
  it('adds a maximum to a memory without one, and V8 enforces it', () => {
    const capped = capMemory(definedMemory(1), 4)
    assert.deepEqual(capped.memories, [{ initialPages: 1, maximumPages: 4, shared: false }])
    const memory = instantiatedMemory(capped.bytes)
    assert.equal(memory.grow(3), 1)
    assert.throws(() => memory.grow(1), RangeError)
    assert.equal(memory.buffer.byteLength, 4 * PAGE_BYTES)
  })

  it('lowers a larger maximum and keeps a smaller one', () => {
    assert.equal(capMemory(definedMemory(1, 100), 4).memories[0]?.maximumPages, 4)
    const kept = capMemory(definedMemory(1, 2), 4)
    assert.equal(kept.memories[0]?.maximumPages, 2)
    assert.throws(() => instantiatedMemory(kept.bytes).grow(2), RangeError)
  })

  it('handles multi-byte page counts', () => {
    const capped = capMemory(definedMemory(200), 300)
    assert.deepEqual(capped.memories, [{ initialPages: 200, maximumPages: 300, shared: false }])
    const memory = instantiatedMemory(capped.bytes)
    assert.equal(memory.grow(100), 200)
    assert.throws(() => memory.grow(1), RangeError)
  })

  it('refuses a module whose initial memory is above the cap', () => {
    assert.equal(failureOf(() => capMemory(definedMemory(5), 4)).reason, 'memory-limit')
  })

  it('caps an imported memory', () => {
    const imports = section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01])
    const capped = capMemory(Uint8Array.from([...HEADER, ...imports]), 8)
    assert.deepEqual(capped.memories, [{ import: { module: 'env', name: 'memory' }, initialPages: 1, maximumPages: 8, shared: false }])
    // The rewritten import now demands a maximum, so a memory without one no longer links.
    const module = new wasm.Module(capped.bytes)
    assert.doesNotThrow(() => new wasm.Instance(module, { env: { memory: new wasm.Memory({ initial: 1, maximum: 8 }) } }))
    assert.throws(() => new wasm.Instance(module, { env: { memory: new wasm.Memory({ initial: 1 }) } }), wasm.LinkError)
  })

  it('skips other imports while looking for memories', () => {
    const type = section(1, [1, 0x60, 0, 0])
    const imports = section(2, [
      2,
      ...name('wasi_snapshot_preview1'), ...name('sched_yield'), 0x00, 0,
      ...name('env'), ...name('table'), 0x01, 0x70, 0x00, 0x01,
    ])
    const capped = capMemory(Uint8Array.from([...HEADER, ...type, ...imports, ...section(5, [1, 0x00, 0x01])]), 2)
    assert.deepEqual(capped.memories, [{ initialPages: 1, maximumPages: 2, shared: false }])
    assert.doesNotThrow(() => new wasm.Module(capped.bytes))
  })

  it('leaves a module without memory untouched', () => {
    const bytes = Uint8Array.from([...HEADER, ...section(0, [...name('note')])])
    const capped = capMemory(bytes, 4)
    assert.equal(capped.bytes, bytes)
    assert.deepEqual(capped.memories, [])
  })

  it('rejects what is not a wasm module', () => {
    assert.equal(failureOf(() => capMemory(new TextEncoder().encode('#!/bin/sh\necho hi\n'), 4)).reason, 'invalid-module')
    assert.equal(failureOf(() => capMemory(Uint8Array.from([...HEADER, 5, 10, 1]), 4)).reason, 'invalid-module')
  })
})
