/**
 * The Lennard-Jones equation of state of Johnson, Zollweg & Gubbins (1993): J. K. Johnson,
 * J. A. Zollweg, K. E. Gubbins, "The Lennard-Jones equation of state revisited", Molecular Physics
 * 78 (1993) 591–618. A modified Benedict–Webb–Rubin equation with 32 parameters x1…x32 (their
 * Table 10) and γ = 3, fitted to simulations of the full (untruncated) potential. Reduced units:
 * temperature T = kT/ε, density ρ = Nσ³/V, pressure Pσ³/ε, energies per particle in ε.
 *
 * The coefficients a_i, b_i (pressure, Helmholtz energy) and c_i, d_i (internal energy) are the
 * paper's Tables 5–8. test/md.test.ts checks this code against published numbers: the EOS's
 * critical point (T = 1.313, ρ = 0.310, the paper's abstract) and the residual Helmholtz energy and
 * second virial coefficient teqp's test suite takes from S. Stephan's independent implementation
 * (αʳ(T 1.35, ρ 0.6) = −1.237403479; B₂(T 0.8) = −7.821026827), and checks that P and U are the
 * density and temperature derivatives of A.
 */

/**
 * x1 … x32 (X[0] is x1), the paper's values. x3, x11, x14 and x19 are printed there with one more
 * digit than a double holds; they are written here as the shortest decimals of the same doubles.
 */
const X = [
  0.8623085097507421, 2.976218765822098, -8.402230115796039, 0.1054136629203555, -0.8564583828174598,
  1.582759470107601, 0.7639421948305453, 1.753173414312048, 2.798291772190376e3, -4.8394220260857657e-2,
  0.9963265197721936, -3.698000291272493e1, 2.084012299434647e1, 8.305402124717286e1, -9.574799715203068e2,
  -1.477746229234994e2, 6.398607852471505e1, 1.603993673294834e1, 6.805916615864378e1, -2.791293578795945e3,
  -6.245128304568454, -8.116836104958410e3, 1.488735559561229e1, -1.059346754655084e4, -1.131607632802822e2,
  -8.867771540418822e3, -3.986982844450543e1, -4.689270299917261e3, 2.593535277438717e2, -2.694523589434903e3,
  -7.218487631550215e2, 1.721802063863269e2,
] as const
const GAMMA = 3

const x = (i: number): number => X[i - 1]!

/** Table 5: a_1 … a_8. */
function a (T: number): number[] {
  return [
    x(1) * T + x(2) * Math.sqrt(T) + x(3) + x(4) / T + x(5) / T ** 2,
    x(6) * T + x(7) + x(8) / T + x(9) / T ** 2,
    x(10) * T + x(11) + x(12) / T,
    x(13),
    x(14) / T + x(15) / T ** 2,
    x(16) / T,
    x(17) / T + x(18) / T ** 2,
    x(19) / T ** 2,
  ]
}

/** Table 6: b_1 … b_6. */
function b (T: number): number[] {
  return [
    x(20) / T ** 2 + x(21) / T ** 3,
    x(22) / T ** 2 + x(23) / T ** 4,
    x(24) / T ** 2 + x(25) / T ** 3,
    x(26) / T ** 2 + x(27) / T ** 4,
    x(28) / T ** 2 + x(29) / T ** 3,
    x(30) / T ** 2 + x(31) / T ** 3 + x(32) / T ** 4,
  ]
}

/** Table 7: c_1 … c_8. */
function c (T: number): number[] {
  return [
    x(2) * Math.sqrt(T) / 2 + x(3) + 2 * x(4) / T + 3 * x(5) / T ** 2,
    x(7) + 2 * x(8) / T + 3 * x(9) / T ** 2,
    x(11) + 2 * x(12) / T,
    x(13),
    2 * x(14) / T + 3 * x(15) / T ** 2,
    2 * x(16) / T,
    2 * x(17) / T + 3 * x(18) / T ** 2,
    3 * x(19) / T ** 2,
  ]
}

/** Table 8: d_1 … d_6. */
function d (T: number): number[] {
  return [
    3 * x(20) / T ** 2 + 4 * x(21) / T ** 3,
    3 * x(22) / T ** 2 + 5 * x(23) / T ** 4,
    3 * x(24) / T ** 2 + 4 * x(25) / T ** 3,
    3 * x(26) / T ** 2 + 5 * x(27) / T ** 4,
    3 * x(28) / T ** 2 + 4 * x(29) / T ** 3,
    3 * x(30) / T ** 2 + 4 * x(31) / T ** 3 + 5 * x(32) / T ** 4,
  ]
}

/** Table 9: G_1 … G_6, the integrals of the exponential terms. */
function g (rho: number): number[] {
  const F = Math.exp(-GAMMA * rho ** 2)
  const G = [(1 - F) / (2 * GAMMA)]
  for (let i = 2; i <= 6; i++) G.push(-(F * rho ** (2 * (i - 1)) - 2 * (i - 1) * G[i - 2]!) / (2 * GAMMA))
  return G
}

function check (T: number, rho: number): void {
  if (!(T > 0) || !(rho >= 0) || !Number.isFinite(T) || !Number.isFinite(rho)) throw new RangeError(`the JZG equation needs T > 0 and ρ ≥ 0, got T ${T}, ρ ${rho}`)
}

/** Pressure (ideal part included). */
export function jzgPressure (T: number, rho: number): number {
  check(T, rho)
  const F = Math.exp(-GAMMA * rho ** 2)
  const polynomial = a(T).reduce((sum, ai, k) => sum + ai * rho ** (k + 2), 0)
  const exponential = b(T).reduce((sum, bi, k) => sum + bi * rho ** (2 * k + 3), 0)
  return rho * T + polynomial + F * exponential
}

/** Residual (configurational) internal energy per particle: the mean potential energy per particle. */
export function jzgEnergy (T: number, rho: number): number {
  check(T, rho)
  const G = g(rho)
  return c(T).reduce((sum, ci, k) => sum + ci * rho ** (k + 1) / (k + 1), 0) + d(T).reduce((sum, di, k) => sum + di * G[k]!, 0)
}

/** Residual Helmholtz energy per particle, in ε (αʳ = A/(NkT) is this over T). */
export function jzgHelmholtz (T: number, rho: number): number {
  check(T, rho)
  const G = g(rho)
  return a(T).reduce((sum, ai, k) => sum + ai * rho ** (k + 1) / (k + 1), 0) + b(T).reduce((sum, bi, k) => sum + bi * G[k]!, 0)
}
