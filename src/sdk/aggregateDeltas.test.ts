import { test } from 'node:test'
import assert from 'node:assert/strict'
import { aggregateDeltas } from './aggregateDeltas.ts'

const honest = [Float32Array.of(1, -2, 0.5), Float32Array.of(2, -1, 0.5), Float32Array.of(3, -3, 0.5), Float32Array.of(2, -2, 0.5)]
// A poisoner's delta: the honest mean sign-flipped and scaled by 10.
const poisoned = [...honest, Float32Array.of(-20, 20, -5)]

test('mean averages coordinate-wise, and one sign-flipped ×10 delta drags it past zero', () => {
  assert.deepEqual([...aggregateDeltas(honest, { aggregator: 'mean' })], [2, -2, 0.5])
  const mean = aggregateDeltas(poisoned, { aggregator: 'mean' })
  assert.ok(mean[0]! < 0 && mean[1]! > 0, `the poisoned mean points the wrong way: ${[...mean]}`)
})

test('the coordinate-wise median and trimmed mean stay within the honest values despite the poisoner', () => {
  assert.deepEqual([...aggregateDeltas(poisoned, { aggregator: 'median' })], [2, -2, 0.5])
  assert.deepEqual([...aggregateDeltas(honest, { aggregator: 'median' })], [2, -2, 0.5], 'an even count averages the middle two')
  // Five deltas: one dropped at each end by default.
  assert.deepEqual([...aggregateDeltas(poisoned, { aggregator: 'trimmedMean' })], [5 / 3, -5 / 3, 0.5])
  assert.deepEqual([...aggregateDeltas(poisoned, { aggregator: 'trimmedMean', trim: 2 })], [2, -2, 0.5])
})

test('no deltas, deltas of different lengths, or a providers list of another length, are refused', () => {
  assert.throws(() => aggregateDeltas([], { aggregator: 'mean' }), RangeError)
  assert.throws(() => aggregateDeltas([Float32Array.of(1), Float32Array.of(1, 2)], { aggregator: 'median' }), /differ in length/)
  for (const aggregator of ['mean', 'median', 'trimmedMean'] as const) {
    assert.throws(() => aggregateDeltas(honest, { aggregator, providers: ['a', 'b', 'c'] }), (error: Error) => error instanceof RangeError && /4 deltas needs one provider each, got 3/.test(error.message))
    assert.throws(() => aggregateDeltas(honest, { aggregator, providers: ['a', 'b', 'c', 'd', 'e'] }), RangeError)
  }
})

// Three honest providers do a task each; a liar does four, more than the honest ones together,
// each returning the poisoner's delta, interleaved with the honest ones as a round's shards would be.
const lie = Float32Array.of(-20, 20, -5)
const crowded = [honest[0]!, lie, honest[1]!, lie, lie, honest[2]!, lie]
const crowdedBy = ['a', 'liar', 'b', 'liar', 'liar', 'c', 'liar']

test('a liar doing most of the tasks outvotes the honest providers per delta, but not per provider', () => {
  // One vote per delta: the liar holds four of seven, so the median is its delta, and the trimmed
  // mean (one dropped at each end) is dragged past zero.
  assert.deepEqual([...aggregateDeltas(crowded, { aggregator: 'median' })], [-20, 20, -5])
  const trimmedPerDelta = aggregateDeltas(crowded, { aggregator: 'trimmedMean' })
  assert.ok(trimmedPerDelta[0]! < 0 && trimmedPerDelta[1]! > 0, `per delta, the trimmed mean points the wrong way: ${[...trimmedPerDelta]}`)
  // One vote per provider: four votes, the liar's one of them; the middle two are honest.
  assert.deepEqual([...aggregateDeltas(crowded, { aggregator: 'median', providers: crowdedBy })], [1.5, -1.5, 0.5])
  assert.deepEqual([...aggregateDeltas(crowded, { aggregator: 'trimmedMean', providers: crowdedBy })], [1.5, -1.5, 0.5])
  // The mean ignores providers: it weights each by the work it did, and is poisoned either way.
  assert.deepEqual([...aggregateDeltas(crowded, { aggregator: 'mean', providers: crowdedBy })], [...aggregateDeltas(crowded, { aggregator: 'mean' })])
})

test("a provider's several deltas count as one vote, their mean", () => {
  const deltas = [Float32Array.of(0), Float32Array.of(1), Float32Array.of(4), Float32Array.of(10)]
  // Per delta, the median of 0, 1, 4, 10 is 2.5; per provider, the votes are a: 2, b: 1, c: 10.
  assert.deepEqual([...aggregateDeltas(deltas, { aggregator: 'median' })], [2.5])
  assert.deepEqual([...aggregateDeltas(deltas, { aggregator: 'median', providers: ['a', 'b', 'a', 'c'] })], [2])
  // One delta per provider: the same as without providers.
  for (const aggregator of ['median', 'trimmedMean'] as const) {
    assert.deepEqual([...aggregateDeltas(poisoned, { aggregator, providers: ['a', 'b', 'c', 'd', 'e'] })], [...aggregateDeltas(poisoned, { aggregator })])
  }
})
