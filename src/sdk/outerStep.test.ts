import { test } from 'node:test'
import assert from 'node:assert/strict'
import { applyOuterStep } from './outerStep.ts'

test('average adds the aggregated delta and leaves the given weights as they were', () => {
  const weights = Float32Array.of(1, 2)
  assert.deepEqual([...applyOuterStep(weights, Float64Array.of(0.5, -1), { kind: 'average' })], [1.5, 1])
  assert.deepEqual([...weights], [1, 2])
})

test('nesterov: m = μm + Δ, w += lr (Δ + μm), with the momentum carried from step to step', () => {
  const outer = { kind: 'nesterov', learningRate: 0.5, momentum: 0.5 } as const
  const momentum = new Float64Array(1)
  const once = applyOuterStep(Float32Array.of(0), Float64Array.of(1), outer, momentum)
  assert.equal(momentum[0], 1) // 0.5·0 + 1
  assert.equal(once[0], 0.75) // 0.5·(1 + 0.5·1)
  const twice = applyOuterStep(once, Float64Array.of(1), outer, momentum)
  assert.equal(momentum[0], 1.5) // 0.5·1 + 1
  assert.equal(twice[0], 0.75 + 0.5 * (1 + 0.75))
  assert.throws(() => applyOuterStep(once, Float64Array.of(1), outer), /momentum value per weight/)
})
