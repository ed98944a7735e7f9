import assert from 'node:assert/strict'
import { it } from 'node:test'
import { withinTolerance } from './floatTolerance.ts'

const f32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer)
const f64 = (...values: number[]) => new Uint8Array(Float64Array.from(values).buffer)

it('f32 elements agree within the relative bound, and not beyond it', () => {
  const tolerance = { type: 'f32' as const, rel: 1e-5 }
  assert.equal(withinTolerance(f32(1000, -2), f32(1000.005, -2.00001), tolerance), true)
  assert.equal(withinTolerance(f32(1000, -2), f32(1000.05, -2), tolerance), false)
  // Symmetric: the order of the replicas does not matter.
  assert.equal(withinTolerance(f32(1000.005, -2.00001), f32(1000, -2), tolerance), true)
})

it('the absolute bound covers elements near zero, where a relative one cannot', () => {
  assert.equal(withinTolerance(f32(0, 1e-9), f32(1e-9, 0), { type: 'f32', rel: 1e-5 }), false)
  assert.equal(withinTolerance(f32(0, 1e-9), f32(1e-9, 0), { type: 'f32', rel: 1e-5, abs: 1e-6 }), true)
})

it('f64 reads eight-byte elements: a difference below f32 precision still counts', () => {
  assert.equal(withinTolerance(f64(1, 2), f64(1 + 1e-12, 2), { type: 'f64' }), false)
  assert.equal(withinTolerance(f64(1, 2), f64(1 + 1e-12, 2), { type: 'f64', rel: 1e-11 }), true)
})

it('lengths must match and hold whole elements; identical bytes always agree', () => {
  assert.equal(withinTolerance(f32(1, 2), f32(1, 2, 3), { type: 'f32', rel: 1 }), false)
  assert.equal(withinTolerance(f32(1).subarray(0, 3), f32(2).subarray(0, 3), { type: 'f32', rel: 1 }), false)
  assert.equal(withinTolerance(f32(1).subarray(0, 3), f32(1).subarray(0, 3), { type: 'f64' }), true)
  assert.equal(withinTolerance(f32(1, 2), f32(1, 2).subarray(0, 4), { type: 'f32', rel: 1 }), false)
})

it('NaN agrees only with NaN, an infinity only with the same infinity', () => {
  const loose = { type: 'f32' as const, rel: 0.5, abs: 1e30 }
  assert.equal(withinTolerance(f32(Number.NaN, 1), f32(Number.NaN, 1), loose), true)
  assert.equal(withinTolerance(f32(Number.NaN), f32(1), loose), false)
  assert.equal(withinTolerance(f32(Infinity), f32(Infinity), loose), true)
  assert.equal(withinTolerance(f32(Infinity), f32(-Infinity), loose), false)
  assert.equal(withinTolerance(f32(Infinity), f32(3e38), loose), false)
})

it('a view into a larger buffer is read at its own offset', () => {
  const backing = new Uint8Array(12)
  backing.set(f32(5), 4)
  assert.equal(withinTolerance(backing.subarray(4, 8), f32(5.00001), { type: 'f32', rel: 1e-5 }), true)
})
