/** Reading and splicing the WebAssembly binary format, for the passes that rewrite a module's memory. */
import { bytesView, concatBytes } from '../../util/index.ts'
import { TaskFailure } from './errors.ts'

/** The size of a WebAssembly memory page. */
export const PAGE_BYTES = 65536

export const SECTION_CUSTOM = 0
export const SECTION_IMPORT = 2
export const SECTION_MEMORY = 5
export const IMPORT_KIND_MEMORY = 0x02

export const LIMITS_HAS_MAX = 0x01
export const LIMITS_SHARED = 0x02
export const LIMITS_MEMORY64 = 0x04
const LIMITS_KNOWN_FLAGS = 0x07
const REF_TYPE_WITH_HEAP_TYPE = new Set([0x63, 0x64]) // (ref null ht) / (ref ht)

export interface Section {
  readonly id: number
  /** Where the section starts (its id byte), where its payload starts, and where it ends. */
  readonly start: number
  readonly payload: number
  readonly end: number
}

/** The module's sections in order, after checking the header; throws `TaskFailure` (invalid-module). */
export function readSections(bytes: Uint8Array): Section[] {
  if (bytes.length < 8 || readU32LE(bytes, 0) !== 0x6d736100 || readU32LE(bytes, 4) !== 1) {
    throw new TaskFailure('invalid-module', 'not a WebAssembly module (bad magic number or version)')
  }
  const sections: Section[] = []
  const reader = new Reader(bytes, 8)
  while (reader.pos < bytes.length) {
    const start = reader.pos
    const id = reader.byte()
    const size = reader.leb()
    const end = reader.pos + size
    if (end > bytes.length) throw invalidModule('a section runs past the end of the module')
    sections.push({ id, start, payload: reader.pos, end })
    reader.pos = end
  }
  return sections
}

/** A section with the given id and payload, encoded. */
export function encodeSection(id: number, payload: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(id), encodeLeb(payload.length), payload])
}

export interface Limits {
  readonly flags: number
  readonly min: number
  readonly max: number | undefined
}

export function encodeLimits(flags: number, min: number, max: number): Uint8Array {
  return concat([Uint8Array.of(flags | LIMITS_HAS_MAX), encodeLeb(min), encodeLeb(max)])
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

export function encodeName(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text)
  return concat([encodeLeb(bytes.length), bytes])
}

export class Reader {
  readonly bytes: Uint8Array
  pos: number

  constructor(bytes: Uint8Array, pos: number) {
    this.bytes = bytes
    this.pos = pos
  }

  byte(): number {
    const b = this.bytes[this.pos]
    if (b === undefined) throw invalidModule('unexpected end of module')
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
    throw invalidModule('LEB128 number too long')
  }

  name(): string {
    const length = this.leb()
    const end = this.pos + length
    if (end > this.bytes.length) throw invalidModule('a name runs past the end of its section')
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
    if ((flags & ~LIMITS_KNOWN_FLAGS) !== 0) throw invalidModule(`unsupported limits flags 0x${flags.toString(16)}`)
    const min = this.leb()
    const max = (flags & LIMITS_HAS_MAX) !== 0 ? this.leb() : undefined
    return { flags, min, max }
  }
}

/** Rebuilds a byte string with some ranges replaced, in increasing order. */
export class Splicer {
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

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return bytesView(concatBytes(parts))
}

function readU32LE(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true)
}

export function invalidModule(message: string): TaskFailure {
  return new TaskFailure('invalid-module', `malformed module: ${message}`)
}
