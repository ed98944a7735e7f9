import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { MemoryDescriptor } from './capMemory.ts'
import { MemoryPool } from './memoryPool.ts'
import { wasm } from './webAssembly.ts'

const SHAPE: MemoryDescriptor = { initialPages: 2, maximumPages: 8, shared: false }

function bytesOf(memory: { buffer: ArrayBuffer | SharedArrayBuffer }): Uint8Array {
  return new Uint8Array(memory.buffer)
}

describe('MemoryPool', () => {
  it('hands a memory back to the next task of its shape, zeroed', () => {
    const pool = new MemoryPool()
    const first = pool.take(SHAPE)
    assert.equal(first.buffer.byteLength, 2 * 65536)
    assert.throws(() => first.grow(7), RangeError, 'the declared maximum holds')
    bytesOf(first).fill(0xab)
    assert.equal(pool.give(first, SHAPE), true)
    const second = pool.take(SHAPE)
    assert.equal(second, first)
    assert.ok(bytesOf(second).every(byte => byte === 0))
    assert.notEqual(pool.take(SHAPE), first, 'a memory is handed out once')
  })

  it('leaves a grown memory, a large one and a shared one to the collector', () => {
    const pool = new MemoryPool()
    const grown = pool.take(SHAPE)
    grown.grow(1)
    assert.equal(pool.give(grown, SHAPE), false)
    assert.notEqual(pool.take(SHAPE), grown)
    const large: MemoryDescriptor = { initialPages: 65, maximumPages: 100, shared: false }
    assert.equal(pool.give(pool.take(large), large), false, 'over 4 MiB')
    const shared: MemoryDescriptor = { ...SHAPE, shared: true }
    assert.equal(pool.give(pool.take(shared), shared), false)
  })

  it('keeps one memory for each of the two shapes used last', () => {
    const pool = new MemoryPool()
    const shapes = [1, 2, 3].map(pages => ({ initialPages: pages, maximumPages: 8, shared: false }))
    const memories = shapes.map(shape => pool.take(shape))
    shapes.forEach((shape, i) => assert.equal(pool.give(memories[i]!, shape), true))
    assert.notEqual(pool.take(shapes[0]!), memories[0], 'the oldest shape was let go')
    assert.equal(pool.take(shapes[1]!), memories[1])
    assert.equal(pool.take(shapes[2]!), memories[2])
  })

  it('does not keep a memory it did not make', () => {
    const pool = new MemoryPool()
    assert.equal(pool.give(new wasm.Memory({ initial: 2, maximum: 8 }), SHAPE), false)
  })
})
