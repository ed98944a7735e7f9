// The example drivers' and benchmarks' command-line numbers: a flag that is not a number in range
// stops the run with a RangeError naming it, before any grid starts.

type ParsedValues = Readonly<Record<string, unknown>>

/** Flag `name` as an integer of at least `min` (1 by default). */
export function intFlag (values: ParsedValues, name: string, min = 1): number {
  const n = Number(values[name])
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`--${name} must be ${min === 1 ? 'a positive integer' : `an integer of at least ${min}`}, got ${String(values[name])}`)
  return n
}

/** Flag `name` as a finite number above 0. */
export function positiveFlag (values: ParsedValues, name: string): number {
  const v = Number(values[name])
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name} must be a positive number, got ${String(values[name])}`)
  return v
}
