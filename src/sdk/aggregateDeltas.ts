/**
 * How a round's weight deltas become one: `mean`, or a robust rule that bounds what a provider
 * sending a bad delta can do without replication: coordinate-wise `median`, or `trimmedMean`
 * (per coordinate, the mean of what is left once the `trim` largest and `trim` smallest values
 * are dropped). Given the provider of each delta, the robust rules count one vote per provider
 * (see AggregateOptions.providers), so a provider cannot outvote the others by doing more tasks.
 */
export type Aggregator = 'mean' | 'median' | 'trimmedMean'

export interface AggregateOptions {
  readonly aggregator: Aggregator
  /** For trimmedMean: values dropped at each end per coordinate (default: a fifth of the votes, at least 1, and always leaving one). */
  readonly trim?: number
  /**
   * The provider of each delta (same length as the deltas). With it, `median` and `trimmedMean`
   * first average each provider's deltas into one vote, then aggregate the votes: a liar that
   * did most of a round's tasks still has one vote, so it moves the result only while it and its
   * allies are at least half of the providers (median) or more than `trim` of them (trimmedMean).
   * `mean` ignores it: the plain mean over all deltas weights each provider by the work it did.
   */
  readonly providers?: readonly string[]
}

/**
 * The coordinate-wise aggregate of equally long deltas, in f64, summed in the deltas' order (so
 * it is reproducible); with `providers`, median and trimmedMean vote once per provider.
 */
export function aggregateDeltas (deltas: readonly Float32Array[], options: AggregateOptions): Float64Array {
  const k = deltas.length
  if (k === 0) throw new RangeError('aggregating needs at least one delta')
  const { providers } = options
  if (providers !== undefined && providers.length !== k) throw new RangeError(`aggregating ${k} deltas needs one provider each, got ${providers.length} providers`)
  const length = deltas[0]!.length
  for (const delta of deltas) if (delta.length !== length) throw new RangeError(`deltas differ in length: ${delta.length} and ${length}`)
  if (options.aggregator === 'mean') return meanOf(deltas, length)
  const votes: ReadonlyArray<ArrayLike<number>> = providers === undefined ? deltas : votesByProvider(deltas, providers, length)
  const n = votes.length
  const trim = options.aggregator === 'median' ? Math.floor((n - 1) / 2) : Math.min(options.trim ?? Math.max(1, Math.floor(n / 5)), Math.floor((n - 1) / 2))
  const out = new Float64Array(length)
  const column = new Float64Array(n)
  for (let i = 0; i < length; i++) {
    for (let v = 0; v < n; v++) column[v] = votes[v]![i]!
    column.sort()
    let sum = 0
    for (let v = trim; v < n - trim; v++) sum += column[v]!
    out[i] = sum / (n - 2 * trim)
  }
  return out
}

function meanOf (deltas: ReadonlyArray<ArrayLike<number>>, length: number): Float64Array {
  const out = new Float64Array(length)
  for (const delta of deltas) for (let i = 0; i < length; i++) out[i]! += delta[i]!
  for (let i = 0; i < length; i++) out[i]! /= deltas.length
  return out
}

/** One vote per provider, in order of each provider's first delta: the mean of its deltas, summed in their order. */
function votesByProvider (deltas: readonly Float32Array[], providers: readonly string[], length: number): Float64Array[] {
  const byProvider = new Map<string, Float32Array[]>()
  deltas.forEach((delta, d) => {
    const own = byProvider.get(providers[d]!)
    if (own === undefined) byProvider.set(providers[d]!, [delta])
    else own.push(delta)
  })
  return [...byProvider.values()].map(own => meanOf(own, length))
}
