/**
 * How far two replicas' copies of one binary output file may differ (job spec `compare.tolerance`):
 * the file is an array of little-endian IEEE floats, `f32` or `f64`, and two copies agree when they
 * have the same length and every pair of elements a, b has |a − b| ≤ abs + rel · max(|a|, |b|).
 * The bound is symmetric, so agreement does not depend on which replica came back first.
 */
export interface FloatTolerance {
  readonly type: 'f32' | 'f64'
  /** Relative bound, a fraction of the larger magnitude (default 0). */
  readonly rel?: number
  /** Absolute bound, for elements near zero (default 0). */
  readonly abs?: number
}

const ELEMENT_BYTES = { f32: 4, f64: 8 } as const

/**
 * Whether two copies of a file agree within `tolerance`. Identical bytes always agree. Otherwise
 * the lengths must be equal and a whole number of elements; NaN agrees with NaN only (any payload),
 * an infinity with the same infinity only.
 */
export function withinTolerance (a: Uint8Array, b: Uint8Array, tolerance: FloatTolerance): boolean {
  if (Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)) return true
  const size = ELEMENT_BYTES[tolerance.type]
  if (a.byteLength !== b.byteLength || a.byteLength % size !== 0) return false
  const rel = tolerance.rel ?? 0
  const abs = tolerance.abs ?? 0
  const left = new DataView(a.buffer, a.byteOffset, a.byteLength)
  const right = new DataView(b.buffer, b.byteOffset, b.byteLength)
  for (let offset = 0; offset < a.byteLength; offset += size) {
    const x = size === 4 ? left.getFloat32(offset, true) : left.getFloat64(offset, true)
    const y = size === 4 ? right.getFloat32(offset, true) : right.getFloat64(offset, true)
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue
    // Past here an infinity or a NaN has no equal partner.
    if (!Number.isFinite(x) || !Number.isFinite(y)) return false
    if (Math.abs(x - y) > abs + rel * Math.max(Math.abs(x), Math.abs(y))) return false
  }
  return true
}
