import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { capMemory } from './capMemory.ts'
import { HOISTED_MEMORY, hoistMemory } from './hoistMemory.ts'
import { HEADER, name, section } from './fixtures/wasmBytes.ts'
import { wasm, type WasmMemory } from './webAssembly.ts'

const TYPES = section(1, [1, 0x60, 0, 1, 0x7f]) // () -> i32
const EXPORT_MEMORY = [...name('memory'), 0x02, 0]
/** Memory 0 holds "hi" at address 8 from an active data segment. */
const DATA = section(11, [1, 0x00, 0x41, 8, 0x0b, 2, 0x68, 0x69])

/** A module with a custom section first, one defined memory (1 page, at most 3), exported, and data. */
function withoutImports(): Uint8Array {
  return Uint8Array.from([
    ...HEADER,
    ...section(0, [...name('note'), 7]),
    ...TYPES,
    ...section(5, [1, 0x01, 1, 3]),
    ...section(7, [1, ...EXPORT_MEMORY]),
    ...DATA,
  ])
}

/** Imports env.answer and exports `ask`, which calls it: function index 0 must stay the import. */
function withFunctionImport(): Uint8Array {
  return Uint8Array.from([
    ...HEADER,
    ...TYPES,
    ...section(2, [1, ...name('env'), ...name('answer'), 0x00, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x01, 1, 3]),
    ...section(7, [2, ...EXPORT_MEMORY, ...name('ask'), 0x00, 1]),
    ...section(10, [1, 4, 0, 0x10, 0, 0x0b]), // ask: call 0
    ...DATA,
  ])
}

function provided(): WasmMemory {
  return new wasm.Memory({ initial: 1, maximum: 3 })
}

describe('hoistMemory', () => {
  it('imports a defined memory instead, keeping its shape, its export and its data', () => {
    const hoisted = hoistMemory(capMemory(withoutImports(), 3))
    assert.deepEqual(hoisted.memories, [{ import: HOISTED_MEMORY, initialPages: 1, maximumPages: 3, shared: false }])
    const module = new wasm.Module(hoisted.bytes)
    assert.deepEqual(wasm.Module.imports(module), [{ ...HOISTED_MEMORY, kind: 'memory' }])
    const memory = provided()
    const instance = new wasm.Instance(module, { [HOISTED_MEMORY.module]: { [HOISTED_MEMORY.name]: memory } })
    assert.equal(instance.exports.memory, memory, 'the module exports the memory it was given')
    assert.equal(new TextDecoder().decode(new Uint8Array(memory.buffer, 8, 2)), 'hi', 'data segments go into it')
    // The maximum is declared in the import too: a memory that could grow further does not link.
    assert.throws(() => new wasm.Instance(module, { [HOISTED_MEMORY.module]: { [HOISTED_MEMORY.name]: new wasm.Memory({ initial: 1 }) } }), wasm.LinkError)
  })

  it('appends the memory after the imports already there, so function indices stay', () => {
    const hoisted = hoistMemory(capMemory(withFunctionImport(), 3))
    const module = new wasm.Module(hoisted.bytes)
    assert.deepEqual(wasm.Module.imports(module).map(entry => `${entry.module}.${entry.name}`), ['env.answer', `${HOISTED_MEMORY.module}.${HOISTED_MEMORY.name}`])
    const instance = new wasm.Instance(module, { env: { answer: () => 42 }, [HOISTED_MEMORY.module]: { [HOISTED_MEMORY.name]: provided() } })
    assert.equal((instance.exports.ask as () => number)(), 42)
  })

  it('leaves an imported, a shared or a missing memory as it is', () => {
    const imported = capMemory(Uint8Array.from([...HEADER, ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 1])]), 4)
    assert.equal(hoistMemory(imported), imported)
    const shared = capMemory(Uint8Array.from([...HEADER, ...section(5, [1, 0x03, 1, 2])]), 4)
    assert.equal(hoistMemory(shared), shared)
    const none = capMemory(Uint8Array.from(HEADER), 4)
    assert.equal(hoistMemory(none), none)
  })
})
