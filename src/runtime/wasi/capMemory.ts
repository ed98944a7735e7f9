/**
 * Worker `resourceLimits` do not bound WebAssembly memory, so the cap is written into the module
 * itself: every memory's maximum (defined in section 5 or imported in section 2) is lowered to the
 * cap, and V8 then refuses any memory.grow beyond it.
 */
import { bytesView, concatBytes } from '../../util/index.ts'
import { TaskFailure } from './errors.ts'

export const PAGE_BYTES = 65536

export interface MemoryDescriptor {
  /** Set when the module imports this memory instead of defining it. */
  readonly import?: { readonly module: string, readonly name: string }
  readonly initialPages: number
  readonly maximumPages: number
  readonly shared: boolean
}

export interface CappedModule {
  readonly bytes: Uint8Array
  readonly memories: readonly MemoryDescriptor[]
}

const SECTION_IMPORT = 2
const SECTION_MEMORY = 5
const LIMITS_HAS_MAX = 0x01
const LIMITS_SHARED = 0x02
const LIMITS_KNOWN_FLAGS = 0x07 // has-max, shared, 64-bit
const REF_TYPE_WITH_HEAP_TYPE = new Set([0x63, 0x64]) // (ref null ht) / (ref ht)

/** Returns the module with every memory maximum at most `maxPages`; throws `TaskFailure`. */
export function capMemory(bytes: Uint8Array, maxPages: number): CappedModule {
  if (bytes.length < 8 || readU32LE(bytes, 0) !== 0x6d736100 || readU32LE(bytes, 4) !== 1) {
    throw new TaskFailure('invalid-module', 'not a WebAssembly module (bad magic number or version)')
  }
  const memories: MemoryDescriptor[] = []
  const parts: Uint8Array[] = [bytes.subarray(0, 8)]
  let changed = false
  const reader = new Reader(bytes, 8)
  while (reader.pos < bytes.length) {
    const start = reader.pos
    const id = reader.byte()
    const size = reader.leb()
    const end = reader.pos + size
    if (end > bytes.length) throw invalid('a section runs past the end of the module')
    if (id === SECTION_IMPORT || id === SECTION_MEMORY) {
      const payload = new Reader(bytes.subarray(reader.pos, end), 0)
      const patched = id === SECTION_IMPORT
        ? patchImports(payload, maxPages, memories)
        : patchMemories(payload, maxPages, memories)
      parts.push(Uint8Array.of(id), encodeLeb(patched.length), patched)
      changed = true
    } else {
      parts.push(bytes.subarray(start, end))
    }
    reader.pos = end
  }
  return { bytes: changed ? concat(parts) : bytes, memories }
}

function patchImports(r: Reader, maxPages: number, memories: MemoryDescriptor[]): Uint8Array {
  const out = new Splicer(r.bytes)
  const count = r.leb()
  for (let i = 0; i < count; i++) {
    const module = r.name()
    const name = r.name()
    const kind = r.byte()
    switch (kind) {
      case 0x00: // function: type index
        r.leb()
        break
      case 0x01: // table: ref type, limits
        r.refType()
        r.limits()
        break
      case 0x02: { // memory: limits
        const start = r.pos
        const limits = r.limits()
        const memory = capLimits(limits, maxPages, { module, name })
        memories.push(memory)
        out.replace(start, r.pos, encodeLimits(limits.flags, memory))
        break
      }
      case 0x03: // global: value type, mutability
        r.refType()
        r.byte()
        break
      case 0x04: // tag: attribute, type index
        r.byte()
        r.leb()
        break
      default:
        throw invalid(`unknown import kind 0x${kind.toString(16)} for ${module}.${name}`)
    }
  }
  return out.finish()
}

function patchMemories(r: Reader, maxPages: number, memories: MemoryDescriptor[]): Uint8Array {
  const out = new Splicer(r.bytes)
  const count = r.leb()
  for (let i = 0; i < count; i++) {
    const start = r.pos
    const limits = r.limits()
    const memory = capLimits(limits, maxPages, undefined)
    memories.push(memory)
    out.replace(start, r.pos, encodeLimits(limits.flags, memory))
  }
  return out.finish()
}

interface Limits {
  readonly flags: number
  readonly min: number
  readonly max: number | undefined
}

function capLimits(limits: Limits, maxPages: number, from: MemoryDescriptor['import']): MemoryDescriptor {
  if (limits.min > maxPages) {
    throw new TaskFailure('memory-limit',
      `the module needs ${limits.min * PAGE_BYTES} bytes of initial memory, above the limit of ${maxPages * PAGE_BYTES} bytes`)
  }
  const maximumPages = Math.min(limits.max ?? maxPages, maxPages)
  const shared = (limits.flags & LIMITS_SHARED) !== 0
  return from ? { import: from, initialPages: limits.min, maximumPages, shared } : { initialPages: limits.min, maximumPages, shared }
}

function encodeLimits(flags: number, memory: MemoryDescriptor): Uint8Array {
  return concat([Uint8Array.of(flags | LIMITS_HAS_MAX), encodeLeb(memory.initialPages), encodeLeb(memory.maximumPages)])
}

/** Unsigned LEB128; numbers stay exact up to 2^53, far beyond any page count that could fit a cap. */
export function encodeLeb(value: number): Uint8Array {
  const out: number[] = []
  let rest = value
  do {
    const low = rest % 128
    rest = Math.floor(rest / 128)
    out.push(rest > 0 ? low | 0x80 : low)
  } while (rest > 0)
  return Uint8Array.from(out)
}

class Reader {
  readonly bytes: Uint8Array
  pos: number

  constructor(bytes: Uint8Array, pos: number) {
    this.bytes = bytes
    this.pos = pos
  }

  byte(): number {
    const b = this.bytes[this.pos]
    if (b === undefined) throw invalid('unexpected end of module')
    this.pos++
    return b
  }

  leb(): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      const b = this.byte()
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return value
      scale *= 128
    }
    throw invalid('LEB128 number too long')
  }

  name(): string {
    const length = this.leb()
    const end = this.pos + length
    if (end > this.bytes.length) throw invalid('a name runs past the end of its section')
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, end))
    this.pos = end
    return text
  }

  /** Skips a value or reference type, including the GC proposal's `(ref null? heaptype)`. */
  refType(): void {
    if (REF_TYPE_WITH_HEAP_TYPE.has(this.byte())) this.leb()
  }

  limits(): Limits {
    const flags = this.byte()
    if ((flags & ~LIMITS_KNOWN_FLAGS) !== 0) throw invalid(`unsupported limits flags 0x${flags.toString(16)}`)
    const min = this.leb()
    const max = (flags & LIMITS_HAS_MAX) !== 0 ? this.leb() : undefined
    return { flags, min, max }
  }
}

/** Rebuilds a section payload with some byte ranges replaced, in increasing order. */
class Splicer {
  readonly #source: Uint8Array
  readonly #parts: Uint8Array[] = []
  #copied = 0

  constructor(source: Uint8Array) {
    this.#source = source
  }

  replace(start: number, end: number, replacement: Uint8Array): void {
    this.#parts.push(this.#source.subarray(this.#copied, start), replacement)
    this.#copied = end
  }

  finish(): Uint8Array {
    this.#parts.push(this.#source.subarray(this.#copied))
    return concat(this.#parts)
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return bytesView(concatBytes(parts))
}

function readU32LE(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true)
}

function invalid(message: string): TaskFailure {
  return new TaskFailure('invalid-module', `malformed module: ${message}`)
}
