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

test('no deltas, or deltas of different lengths, are refused', () => {
  assert.throws(() => aggregateDeltas([], { aggregator: 'mean' }), RangeError)
  assert.throws(() => aggregateDeltas([Float32Array.of(1), Float32Array.of(1, 2)], { aggregator: 'median' }), /differ in length/)
})
