// The molecular dynamics example at a small size: the Johnson–Zollweg–Gubbins equation of state
// against published values, the ensemble checks, the WebAssembly module's determinism, and an
// ensemble of Lennard-Jones trajectories on a real local grid, checked against the equation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { exampleRunner } from '../examples/runExample.ts'
import { ALLOWANCE, checkEnsemble, DRIFT_BOUND, parseTiming, parseTrajectories, TrajectoryFormatError } from '../examples/md/ensemble.ts'
import { jzgEnergy, jzgHelmholtz, jzgPressure } from '../examples/md/jzg.ts'
import { runMd } from '../examples/md/md.ts'
import { formatEnsemble, formatSpeed } from '../examples/md/report.ts'
import type { Trajectory } from '../examples/md/ensemble.ts'

test('the JZG equation of state gives the published values, and P and U are derivatives of its A', () => {
  // teqp's tests (from S. Stephan's implementation): αʳ = A/(NkT) at T 1.35, ρ 0.6, and B₂(0.8).
  assert.ok(Math.abs(jzgHelmholtz(1.35, 0.6) / 1.35 - -1.237403479) < 1e-9)
  const rho = 1e-7
  assert.ok(Math.abs(jzgHelmholtz(0.8, rho) / 0.8 / rho - -7.821026827) < 1e-5)
  // The critical point the paper gives in its abstract, T 1.313, ρ 0.310: there dP/dρ just
  // touches zero; below it the isotherm has a van der Waals loop, above it none.
  const slopeMin = (T: number) => {
    let least = Number.POSITIVE_INFINITY
    let at = 0
    for (let r = 0.2; r <= 0.45; r += 0.001) {
      const slope = (jzgPressure(T, r + 1e-5) - jzgPressure(T, r - 1e-5)) / 2e-5
      if (slope < least) [least, at] = [slope, r]
    }
    return { least, at }
  }
  assert.ok(Math.abs(slopeMin(1.313).least) < 1e-3)
  assert.ok(Math.abs(slopeMin(1.313).at - 0.310) < 0.002)
  assert.ok(slopeMin(1.30).least < -0.02)
  assert.ok(slopeMin(1.33).least > 0.02)
  // P = ρT + ρ² ∂(A/N)/∂ρ and U = −T² ∂(A/NT)/∂T, by central differences, over the fluid.
  const h = 1e-6
  for (const [T, r] of [[0.85, 0.776], [1.35, 0.6], [2, 0.8], [2, 0.1], [4, 1.0]] as const) {
    const dA = (jzgHelmholtz(T, r + h) - jzgHelmholtz(T, r - h)) / (2 * h)
    assert.ok(Math.abs(jzgPressure(T, r) - (r * T + r * r * dA)) < 1e-6, `P at T ${T}, ρ ${r}`)
    const dAT = (jzgHelmholtz(T + h, r) / (T + h) - jzgHelmholtz(T - h, r) / (T - h)) / (2 * h)
    assert.ok(Math.abs(jzgEnergy(T, r) - -T * T * dAT) < 1e-6, `U at T ${T}, ρ ${r}`)
  }
  assert.throws(() => jzgPressure(0, 0.8), RangeError)
  assert.throws(() => jzgEnergy(1, -0.1), RangeError)
})

test('the ensemble check compares each trajectory at its own temperature and flags drift and bias', () => {
  // Trajectories whose averages are the equation's own values, with scatter: they must agree.
  const at = (seed: number, T: number, dP: number, dU: number, drift = 1e-5): Trajectory => ({
    seed, particles: 256, density: 0.8, targetTemperature: 2, cutoff: 2.5, dt: 0.005, equilibrationSteps: 100, productionSteps: 100,
    temperature: T, potentialEnergy: jzgEnergy(T, 0.8) + dU, pressure: jzgPressure(T, 0.8) + dP, energy: -1, energyDrift: drift,
    energyRms: 1e-3, neighbourRebuilds: 10, state: '0123456789abcdef',
  })
  const scatter = [-0.02, 0.01, 0.03, -0.02]
  const fine = checkEnsemble(scatter.map((s, k) => at(k, 1.9 + 0.05 * k, s, s / 4)))
  assert.equal(fine.passed, true)
  assert.ok(Math.abs(fine.pressure.difference) < 1e-12 && fine.pressure.standardError > 0)
  assert.equal(fine.pressure.bound, 3 * fine.pressure.standardError + ALLOWANCE.pressure)
  // Without the long-range corrections the pressure would be about 0.68 too high: caught.
  const biased = checkEnsemble(scatter.map((s, k) => at(k, 2, s + 0.68, s / 4)))
  assert.equal(biased.pressure.agrees, false)
  assert.equal(biased.potentialEnergy.agrees, true)
  assert.equal(biased.passed, false)
  const drifting = checkEnsemble(scatter.map((s, k) => at(k, 2, s, s / 4, k === 2 ? -2 * DRIFT_BOUND : 0)))
  assert.deepEqual(drifting.drifting, [2])
  assert.equal(drifting.passed, false)
  assert.throws(() => checkEnsemble([at(1, 2, 0, 0)]), RangeError)

  assert.throws(() => parseTrajectories('{"seed":1}\n', 'x'), TrajectoryFormatError)
  assert.throws(() => parseTrajectories('not json\n', 'x'), /x line 1: not JSON/)
  assert.equal(parseTiming('{"trajectories":1,"particles":256,"steps":10,"seconds":0.5}\n', 'x').steps, 10)
})

test('ljmd: a seed gives the same bits every time, several trajectories equal separate runs, bad input is refused', async (t) => {
  const runner = await exampleRunner('ljmd')
  t.after(() => runner.close())
  const args = ['--particles', '256', '--equilibration', '100', '--production', '1000']
  const text = async (extra: string[]) => {
    const run = await runner.run([...args, ...extra])
    assert.equal(run.exitCode, 0, run.stderr)
    return Buffer.from(run.stdout).toString('utf8')
  }
  const first = await text(['--seed', '7'])
  assert.equal(await text(['--seed', '7']), first)
  const [seven] = parseTrajectories(first, 'seed 7')
  assert.equal(seven!.seed, 7)
  assert.equal(seven!.particles, 256)
  assert.equal(seven!.productionSteps, 1000)
  const both = await text(['--seed', '7', '--trajectories', '2'])
  assert.equal(both, first + await text(['--seed', '8']))
  assert.notEqual(parseTrajectories(both, 'both')[1]!.state, seven!.state)
  // Energy is conserved at dt 0.005 and not at 0.015: the drift check has teeth.
  assert.ok(Math.abs(seven!.energyDrift) < DRIFT_BOUND, `drift ${seven!.energyDrift}`)
  const [coarse] = parseTrajectories(await text(['--seed', '7', '--dt', '0.015']), 'dt 0.015')
  assert.ok(Math.abs(coarse!.energyDrift) > 5 * DRIFT_BOUND, `drift ${coarse!.energyDrift} at dt 0.015`)

  const fails = async (extra: string[], message: RegExp) => {
    const bad = await runner.run(extra)
    assert.equal(bad.exitCode, 2, `${extra.join(' ')} exited ${bad.exitCode}`)
    assert.match(bad.stderr, message)
    assert.equal(bad.stdout.length, 0)
  }
  await fails(['--particles', '256'], /give --seed/)
  await fails(['--seed', '1', '--particles', '300'], /must be 4k³/)
  await fails(['--seed', '1', '--density', 'lots'], /--density must be a number/)
  await fails(['--seed', '1', '--dt', '0.00.5'], /--dt must be a number/)
  await fails(['--seed', '1', '--particles', '32'], /exceeds half the box/)
  await fails(['--seed', '1', '--bogus', '1'], /unknown option --bogus/)
})

test('on a grid, an ensemble agrees with the JZG equation, conserves energy, and replicas agree bit for bit', async () => {
  // Short runs, so a larger standard error; the drift bound and the allowances are the example's.
  const report = await runMd({ providers: 2, coresPerProvider: 1, trajectories: 4, equilibration: 500, production: 1500, replication: 2 })
  console.log(formatSpeed(report))
  console.log(formatEnsemble(report))
  assert.equal(report.trajectories.length, 4)
  assert.deepEqual(report.trajectories.map(t => t.seed), [1, 2, 3, 4])
  assert.deepEqual(report.mismatches, [])
  assert.deepEqual(report.check.drifting, [])
  assert.ok(report.check.worstDrift > 0 && report.check.worstDrift < DRIFT_BOUND)
  assert.equal(report.check.pressure.agrees, true, `pressure off by ${report.check.pressure.difference}`)
  assert.equal(report.check.potentialEnergy.agrees, true, `energy off by ${report.check.potentialEnergy.difference}`)
  // The dense liquid's pressure and energy are far from an ideal gas's (P = ρT, U = 0).
  assert.ok(report.check.pressure.simulated > 4 && report.check.potentialEnergy.simulated < -4)
  assert.equal(report.providers.reduce((sum, p) => sum + p.tasks, 0), 4)
  assert.ok(report.singleSeconds > 0 && report.gridSeconds > 0)
  assert.equal(report.verified, true)
})
