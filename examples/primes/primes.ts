/**
 * Helpers for the prime-counting example: split [0, limit) into task ranges, sum the tasks'
 * printed counts (the reduce step), and a plain-TypeScript reference counter for tests.
 */

export interface PrimeRange {
  /** Inclusive. */
  readonly from: number
  /** Exclusive. */
  readonly to: number
}

/** The largest bound the WebAssembly module accepts: 2^53, where JS integers stop being exact. */
export const MAX_PRIME_BOUND = 2 ** 53

/**
 * Splits [0, limit) into `tasks` contiguous ranges whose sizes differ by at most one (the first
 * `limit % tasks` ranges get the extra number).
 */
export function primeRanges (limit: number, tasks: number): PrimeRange[] {
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PRIME_BOUND) throw new RangeError(`limit must be an integer in 0..2^53, got ${limit}`)
  if (!Number.isSafeInteger(tasks) || tasks < 1) throw new RangeError(`tasks must be a positive integer, got ${tasks}`)
  const size = Math.floor(limit / tasks)
  const extra = limit % tasks
  const ranges: PrimeRange[] = []
  let from = 0
  for (let i = 0; i < tasks; i++) {
    const to = from + size + (i < extra ? 1 : 0)
    ranges.push({ from, to })
    from = to
  }
  return ranges
}

/** The module's argv for one range. */
export function primeTaskArgs (range: PrimeRange): string[] {
  return ['--from', String(range.from), '--to', String(range.to)]
}

/** The reduce step: each task printed one decimal count; the answer is their sum. */
export function reducePrimeCounts (stdouts: readonly string[]): number {
  let total = 0
  stdouts.forEach((out, i) => {
    const text = out.trim()
    if (!/^\d+$/.test(text)) throw new Error(`task ${i} printed ${JSON.stringify(out.slice(0, 80))}, not a count`)
    total += Number(text)
  })
  if (!Number.isSafeInteger(total)) throw new RangeError(`the total ${total} is not exact`)
  return total
}

/** Counts the primes in [from, to) with a plain segmented sieve; the reference for tests. */
export function countPrimesJs (from: number, to: number): number {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > MAX_PRIME_BOUND || from > to) {
    throw new RangeError(`expected integers 0 <= from <= to <= 2^53, got [${from}, ${to})`)
  }
  const lo = Math.max(from, 2)
  if (lo >= to) return 0
  // Primes up to sqrt(to - 1) by a simple sieve.
  const root = Math.floor(Math.sqrt(to - 1))
  const small = new Uint8Array(root + 1) // 1 = composite
  const base: number[] = []
  for (let n = 2; n <= root; n++) {
    if (small[n] === 1) continue
    base.push(n)
    for (let m = n * n; m <= root; m += n) small[m] = 1
  }
  const SEGMENT = 1 << 20
  let count = 0
  for (let start = lo; start < to; start += SEGMENT) {
    const end = Math.min(start + SEGMENT, to)
    const composite = new Uint8Array(end - start)
    for (const p of base) {
      if (p * p >= end) break
      // start % p is exact in floating point, where Math.ceil(start / p) might not be near 2^53.
      for (let m = Math.max(p * p, start + (p - start % p) % p); m < end; m += p) composite[m - start] = 1
    }
    for (let i = 0; i < composite.length; i++) if (composite[i] === 0) count++
  }
  return count
}
