/**
 * Compiled modules by content address and memory cap, least recently used first out. Compiling is
 * the expensive step (tens of ms for a real program); a `WebAssembly.Module` posted to a worker
 * shares its compiled code, so each module is compiled once per runtime.
 */
import { readFile } from 'node:fs/promises'
import { capMemory, type MemoryDescriptor, PAGE_BYTES } from './capMemory.ts'
import { TaskFailure } from './errors.ts'
import { hoistMemory } from './hoistMemory.ts'
import { wasm, type WasmModule } from './webAssembly.ts'

export interface CompiledModule {
  readonly module: WasmModule
  readonly memory: MemoryDescriptor
}

const WASI_MODULE = 'wasi_snapshot_preview1'

export class ModuleCache {
  readonly #capacity: number
  readonly #entries = new Map<string, Promise<CompiledModule>>()
  #compiles = 0

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  /** Number of compilations so far (cache misses that got as far as compiling). */
  get compiles(): number {
    return this.#compiles
  }

  get size(): number {
    return this.#entries.size
  }

  /** Rejects with `TaskFailure` (invalid-module, memory-limit) or the error reading the file. */
  get(moduleCid: string, modulePath: string, capBytes: number): Promise<CompiledModule> {
    const maxPages = Math.floor(capBytes / PAGE_BYTES)
    const key = `${moduleCid}\n${maxPages}`
    let entry = this.#entries.get(key)
    if (entry) {
      this.#entries.delete(key) // re-insert: Map order is the recency order
    } else {
      const compiling = this.#compile(modulePath, maxPages)
      compiling.catch(() => {
        if (this.#entries.get(key) === compiling) this.#entries.delete(key)
      })
      entry = compiling
    }
    this.#entries.set(key, entry)
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#capacity) break
      this.#entries.delete(oldest)
    }
    return entry
  }

  async #compile(modulePath: string, maxPages: number): Promise<CompiledModule> {
    const capped = capMemory(await readFile(modulePath), maxPages)
    const hoisted = hoistMemory(capped)
    this.#compiles++
    let module: WasmModule
    try {
      module = await wasm.compile(hoisted.bytes)
    } catch (err) {
      throw new TaskFailure('invalid-module', err instanceof Error ? err.message : String(err))
    }
    // Checked against the module's own memories: hoisting changes no export the check reads.
    const own = checkShape(module, capped.memories)
    return { module, memory: hoisted.memories[0] ?? own }
  }
}

/** Checks up front what would otherwise fail at link time or in `_start`, with a clearer message. */
function checkShape(module: WasmModule, memories: readonly MemoryDescriptor[]): MemoryDescriptor {
  for (const entry of wasm.Module.imports(module)) {
    const supported = (entry.kind === 'function' && entry.module === WASI_MODULE) || entry.kind === 'memory'
    if (!supported) {
      throw new TaskFailure('invalid-module',
        `the module imports ${entry.kind} ${entry.module}.${entry.name}, which is not provided (only ${WASI_MODULE} functions are)`)
    }
  }
  const exports = new Map(wasm.Module.exports(module).map((e) => [e.name, e.kind]))
  if (exports.get('_start') !== 'function') {
    throw new TaskFailure('invalid-module', 'the module does not export a _start function (not a WASI command)')
  }
  if (exports.has('_initialize')) {
    throw new TaskFailure('invalid-module', 'the module exports _initialize: it is a WASI reactor, not a command')
  }
  const [memory, ...others] = memories
  if (!memory || others.length > 0) {
    throw new TaskFailure('invalid-module', `a WASI command needs exactly one memory, this module has ${memories.length}`)
  }
  if (!memory.import && exports.get('memory') !== 'memory') {
    throw new TaskFailure('invalid-module', 'the module does not export its memory as "memory"')
  }
  return memory
}
