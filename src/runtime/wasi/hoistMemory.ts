/**
 * Turns a module's own memory into an import, so that the worker hands it a memory instead of the
 * module making one at every instantiation. A finished task's memory is then zeroed and reused by
 * the next task of the same shape (see memoryPool.ts) rather than left to the garbage collector,
 * which frees wasm memories only in a full collection: a provider running small tasks otherwise
 * held about a hundred dead memories (38 MB) between collections.
 *
 * Semantics stay those of a fresh module: the memory index (0) and the export are unchanged, the
 * worker provides exactly the declared initial size and maximum, zero-filled, and data segments
 * are written at instantiation either way.
 */
import type { CappedModule } from './capMemory.ts'
import {
  concat, encodeLeb, encodeLimits, encodeName, encodeSection, IMPORT_KIND_MEMORY, LIMITS_MEMORY64,
  LIMITS_SHARED, Reader, readSections, SECTION_CUSTOM, SECTION_IMPORT, SECTION_MEMORY, Splicer,
} from './wasmBinary.ts'

/** Where a hoisted memory is imported from; the runtime supports no other import of this module name. */
export const HOISTED_MEMORY = { module: 'conun:sandbox', name: 'memory' } as const

/**
 * The capped module with its one defined memory imported from `HOISTED_MEMORY`; unchanged where
 * there is nothing to hoist (an imported memory, several memories, a shared or 64-bit one).
 */
export function hoistMemory(capped: CappedModule): CappedModule {
  const [memory, ...others] = capped.memories
  if (!memory || others.length > 0 || memory.import || memory.shared) return capped
  const sections = readSections(capped.bytes)
  const memorySection = sections.find(section => section.id === SECTION_MEMORY)
  if (!memorySection) return capped
  const limits = new Reader(capped.bytes.subarray(memorySection.payload, memorySection.end), 0)
  if (limits.leb() !== 1 || (limits.limits().flags & (LIMITS_SHARED | LIMITS_MEMORY64)) !== 0) return capped

  const entry = concat([
    encodeName(HOISTED_MEMORY.module), encodeName(HOISTED_MEMORY.name), Uint8Array.of(IMPORT_KIND_MEMORY),
    encodeLimits(0, memory.initialPages, memory.maximumPages),
  ])
  const out = new Splicer(capped.bytes)
  const importSection = sections.find(section => section.id === SECTION_IMPORT)
  if (importSection) {
    // Appended last, so the indices of imported functions stay as they were.
    const payload = new Reader(capped.bytes.subarray(importSection.payload, importSection.end), 0)
    const count = payload.leb()
    const rest = capped.bytes.subarray(importSection.payload + payload.pos, importSection.end)
    out.replace(importSection.start, importSection.end, encodeSection(SECTION_IMPORT, concat([encodeLeb(count + 1), rest, entry])))
  } else {
    // The import section comes right after the type section, before every other known section.
    const before = sections.find(section => section.id !== SECTION_CUSTOM && section.id > SECTION_IMPORT) ?? memorySection
    out.replace(before.start, before.start, encodeSection(SECTION_IMPORT, concat([encodeLeb(1), entry])))
  }
  out.replace(memorySection.start, memorySection.end, new Uint8Array(0))
  return { bytes: out.finish(), memories: [{ import: HOISTED_MEMORY, initialPages: memory.initialPages, maximumPages: memory.maximumPages, shared: false }] }
}
