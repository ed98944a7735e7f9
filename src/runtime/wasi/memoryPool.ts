/**
 * A worker's spare task memories, zeroed, one per shape (initial pages and maximum). A task takes
 * one of the declared shape and gives it back when it is over; a memory that grew, or that is too
 * large to keep, goes to the garbage collector instead. Only this worker's tasks, one at a time,
 * ever see a pooled memory, and never a byte of the task before (see `give`).
 */
import type { MemoryDescriptor } from './capMemory.ts'
import { wasm, type WasmMemory } from './webAssembly.ts'

/** Larger memories are not kept: zeroed, a kept memory is resident in full while it waits. */
const KEPT_BYTES_MAX = 4 * 1024 * 1024
/** Shapes kept at once; a worker mostly runs tasks of one module. */
const SHAPES_MAX = 2

export class MemoryPool {
  readonly #spare = new Map<string, WasmMemory>()
  /** Each memory's size when it was made: one that is larger now has grown. */
  readonly #madeBytes = new WeakMap<WasmMemory, number>()

  /** A zero-filled memory of exactly this shape. */
  take(shape: MemoryDescriptor): WasmMemory {
    const key = shapeKey(shape)
    const spare = this.#spare.get(key)
    if (spare !== undefined) {
      this.#spare.delete(key)
      return spare
    }
    const memory = new wasm.Memory({ initial: shape.initialPages, maximum: shape.maximumPages, shared: shape.shared })
    this.#madeBytes.set(memory, memory.buffer.byteLength)
    return memory
  }

  /** Keeps the memory for the next task of its shape, zeroed; returns false where it is left to the collector. */
  give(memory: WasmMemory, shape: MemoryDescriptor): boolean {
    const bytes = memory.buffer.byteLength
    if (shape.shared || bytes !== this.#madeBytes.get(memory) || bytes > KEPT_BYTES_MAX) return false
    // memset speed (7 µs a MiB); it leaves the whole memory resident, hence the size limit.
    new Uint8Array(memory.buffer).fill(0)
    const key = shapeKey(shape)
    this.#spare.delete(key)
    this.#spare.set(key, memory)
    for (const oldest of this.#spare.keys()) {
      if (this.#spare.size <= SHAPES_MAX) break
      this.#spare.delete(oldest)
    }
    return true
  }
}

function shapeKey(shape: MemoryDescriptor): string {
  return `${shape.initialPages}/${shape.maximumPages}`
}
