/** The molecular dynamics ensemble's report as Markdown tables, as the example prints them. */
import type { Comparison } from './ensemble.ts'
import type { MdReport } from './md.ts'

const short = (peerId: string) => `…${peerId.slice(-8)}`
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
const rate = (steps: number, seconds: number) => seconds > 0 ? Math.round(steps / seconds).toLocaleString('en-US') : '–'

/** Time steps per second per provider, for the grid and for one process. */
export function formatSpeed (report: MdReport): string {
  const busy = report.providers.reduce((sum, p) => sum + p.seconds, 0)
  const tasks = report.providers.reduce((sum, p) => sum + p.tasks, 0)
  return [
    `${report.trajectories.length} trajectories × ${report.equilibration} + ${report.production} steps of ${report.particles} particles ` +
      `(ρ ${report.density}, T ${report.temperature}, cut-off ${report.cutoff} σ, dt ${report.dt}), ${report.steps.toLocaleString('en-US')} steps` +
      (report.replication > 1 ? `; each task run ${report.replication} times, counted once, under the provider of the result the grid accepted` : ''),
    '',
    row(['', 'tasks', 'steps', 'simulating (s)', 'steps/s per task', 'steps/s over the run']),
    row(['---', '--:', '--:', '--:', '--:', '--:']),
    ...report.providers.map(p => row([`provider ${short(p.peerId)}`, p.tasks, p.steps.toLocaleString('en-US'), p.seconds.toFixed(2), rate(p.steps, p.seconds), rate(p.steps, report.gridSeconds)])),
    row([`grid, ${report.gridProviders} provider${report.gridProviders === 1 ? '' : 's'} (${report.gridSeconds.toFixed(2)} s wall)`, tasks, report.steps.toLocaleString('en-US'), busy.toFixed(2), rate(report.steps, busy), rate(report.steps, report.gridSeconds)]),
    row(['single process, every trajectory', 1, report.steps.toLocaleString('en-US'), report.singleSeconds.toFixed(2), rate(report.steps, report.singleSeconds), rate(report.steps, report.singleSeconds)]),
  ].join('\n')
}

function comparisonRow (name: string, c: Comparison): string {
  return row([name, c.simulated.toFixed(4), c.equation.toFixed(4), `${c.difference >= 0 ? '+' : ''}${c.difference.toFixed(4)} ± ${c.standardError.toFixed(4)}`, `±${c.bound.toFixed(4)}`, c.agrees ? 'yes' : '**no**'])
}

/** The ensemble against the equation of state, the drift check and the bit-for-bit check. */
export function formatEnsemble (report: MdReport): string {
  const { check } = report
  return [
    row(['', `ensemble mean (${check.trajectories} trajectories)`, 'JZG 1993 at each trajectory’s T', 'difference ± standard error', 'bound', 'agrees']),
    row(['---', '--:', '--:', '--:', '--:', ':-:']),
    comparisonRow('pressure P', check.pressure),
    comparisonRow('potential energy U/N', check.potentialEnergy),
    '',
    `temperature (NVE): ${check.temperature.mean.toFixed(4)} ± ${check.temperature.standardError.toFixed(4)}`,
    `energy drift (NVE): worst |d(E/N)/dt| ${check.worstDrift.toExponential(2)} ε/τ (bound ${check.driftBound.toExponential(0)}); ` +
      `${check.trajectories - check.drifting.length} of ${check.trajectories} trajectories within it`,
    `bit for bit: ${report.trajectories.length - report.mismatches.length} of ${report.trajectories.length} trajectories from the grid identical to the single-process run`,
  ].join('\n')
}
