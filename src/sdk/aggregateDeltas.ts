/**
 * How a round's weight deltas become one: `mean`, or a robust rule that bounds what a provider
 * sending a bad delta can do without replication: coordinate-wise `median`, or `trimmedMean`
 * (per coordinate, the mean of what is left once the `trim` largest and `trim` smallest values
 * are dropped).
 */
export type Aggregator = 'mean' | 'median' | 'trimmedMean'

export interface AggregateOptions {
  readonly aggregator: Aggregator
  /** For trimmedMean: values dropped at each end per coordinate (default: a fifth of the deltas, at least 1, and always leaving one). */
  readonly trim?: number
}

/** The coordinate-wise aggregate of equally long deltas, in f64, summed in the deltas' order (so it is reproducible). */
export function aggregateDeltas (deltas: readonly Float32Array[], options: AggregateOptions): Float64Array {
  const k = deltas.length
  if (k === 0) throw new RangeError('aggregating needs at least one delta')
  const length = deltas[0]!.length
  for (const delta of deltas) if (delta.length !== length) throw new RangeError(`deltas differ in length: ${delta.length} and ${length}`)
  const out = new Float64Array(length)
  if (options.aggregator === 'mean') {
    for (const delta of deltas) for (let i = 0; i < length; i++) out[i]! += delta[i]!
    for (let i = 0; i < length; i++) out[i]! /= k
    return out
  }
  const trim = options.aggregator === 'median' ? Math.floor((k - 1) / 2) : Math.min(options.trim ?? Math.max(1, Math.floor(k / 5)), Math.floor((k - 1) / 2))
  const column = new Float64Array(k)
  for (let i = 0; i < length; i++) {
    for (let d = 0; d < k; d++) column[d] = deltas[d]![i]!
    column.sort()
    let sum = 0
    for (let d = trim; d < k - trim; d++) sum += column[d]!
    out[i] = sum / (k - 2 * trim)
  }
  return out
}
