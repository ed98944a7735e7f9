/**
 * The outer step, applied on the requester to a round's aggregated delta Δ: `average` adds it
 * (w += Δ, federated averaging); `nesterov` treats −Δ as a gradient for SGD with Nesterov momentum,
 * as DiLoCo does (m = μm + Δ; w += lr (Δ + μm)).
 */
export type OuterStep = { readonly kind: 'average' } | { readonly kind: 'nesterov', readonly learningRate: number, readonly momentum: number }

/** The weights after the outer step; `momentum` (nesterov's m, one per weight) is updated in place. */
export function applyOuterStep (weights: Float32Array, step: Float64Array, outer: OuterStep, momentum?: Float64Array): Float32Array {
  const next = weights.slice()
  if (outer.kind === 'average') {
    for (let i = 0; i < next.length; i++) next[i]! += step[i]!
    return next
  }
  if (momentum === undefined || momentum.length !== weights.length) throw new RangeError('a nesterov outer step needs one momentum value per weight')
  for (let i = 0; i < next.length; i++) {
    momentum[i] = outer.momentum * momentum[i]! + step[i]!
    next[i]! += outer.learningRate * (step[i]! + outer.momentum * momentum[i]!)
  }
  return next
}
