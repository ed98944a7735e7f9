/**
 * Worker `resourceLimits` do not bound WebAssembly memory, so the cap is written into the module
 * itself: every memory's maximum (defined in section 5 or imported in section 2) is lowered to the
 * cap, and V8 then refuses any memory.grow beyond it.
 */
import { TaskFailure } from './errors.ts'
import {
  encodeLimits, encodeSection, IMPORT_KIND_MEMORY, LIMITS_SHARED, type Limits, Reader, readSections,
  SECTION_IMPORT, SECTION_MEMORY, Splicer, invalidModule,
} from './wasmBinary.ts'

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

/** Returns the module with every memory maximum at most `maxPages`; throws `TaskFailure`. */
export function capMemory(bytes: Uint8Array, maxPages: number): CappedModule {
  const memories: MemoryDescriptor[] = []
  const out = new Splicer(bytes)
  let changed = false
  for (const section of readSections(bytes)) {
    if (section.id !== SECTION_IMPORT && section.id !== SECTION_MEMORY) continue
    const payload = new Reader(bytes.subarray(section.payload, section.end), 0)
    const patched = section.id === SECTION_IMPORT
      ? patchImports(payload, maxPages, memories)
      : patchMemories(payload, maxPages, memories)
    out.replace(section.start, section.end, encodeSection(section.id, patched))
    changed = true
  }
  return { bytes: changed ? out.finish() : bytes, memories }
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
      case IMPORT_KIND_MEMORY: { // memory: limits
        const start = r.pos
        const limits = r.limits()
        const memory = capLimits(limits, maxPages, { module, name })
        memories.push(memory)
        out.replace(start, r.pos, encodeLimits(limits.flags, memory.initialPages, memory.maximumPages))
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
        throw invalidModule(`unknown import kind 0x${kind.toString(16)} for ${module}.${name}`)
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
    out.replace(start, r.pos, encodeLimits(limits.flags, memory.initialPages, memory.maximumPages))
  }
  return out.finish()
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
