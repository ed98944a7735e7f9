/** The matmul example's and benchmark's shared parts: the kernel (the runtime's), its plan, test matrices and the CPU reference. */
import { MATMUL_TILE, matmulWgslPath } from '../../src/runtime/index.ts'
import type { GpuPlan } from '../../src/runtime/index.ts'

export const MATMUL_WGSL = matmulWgslPath()
/** The kernel's tile edge: n and the rows of a block are multiples of it. */
export const TILE = MATMUL_TILE

/** The plan for `rows` rows of C from `rows` rows of A (a.bin) and all of B (b.bin), repeating the pass `passes` times. */
export function matmulPlan (n: number, rows: number, passes = 1): GpuPlan {
  return {
    buffers: [
      { name: 'a', binding: 0, input: 'a.bin' },
      { name: 'b', binding: 1, input: 'b.bin' },
      { name: 'params', binding: 2, params: 'u32' },
      { name: 'c', binding: 3, output: 'c.bin', size: rows * n * 4 },
    ],
    passes: Array.from({ length: passes }, () => ({ entry: 'matmul', dispatch: [n / TILE, rows / TILE] })),
  }
}

/** A reproducible matrix of values in [-1, 1): sums stay small, so a correct result is within a tight relative bound. */
export function randomMatrix (rows: number, cols: number, seed: number): Float32Array {
  let state = seed
  return Float32Array.from({ length: rows * cols }, () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 30 - 1)
}

/** C = A × B on one core, for A rows × n and B n × n. */
export function cpuMatmul (a: Float32Array, b: Float32Array, n: number): Float32Array {
  const rows = a.length / n
  const c = new Float32Array(rows * n)
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!
      for (let j = 0; j < n; j++) c[i * n + j]! += aik * b[k * n + j]!
    }
  }
  return c
}

/**
 * Elements of `actual` further than 1e-3 (relative, or absolute near zero) from `expected`. GPUs sum
 * in another order than the CPU, and some fuse multiply-adds: float results agree closely, not bit for bit.
 */
export function wrongElements (actual: Float32Array, expected: Float32Array): number {
  let wrong = 0
  for (let i = 0; i < expected.length; i++) if (!(Math.abs(actual[i]! - expected[i]!) <= 1e-3 * Math.max(1, Math.abs(expected[i]!)))) wrong++
  return wrong + Math.abs(actual.length - expected.length)
}
