/** The sequence search's report as Markdown tables, as the example prints them. */
import { gcups, hitsByQuery } from './hits.ts'
import type { Hit } from './hits.ts'
import type { SeqSearchReport } from './seqsearch.ts'

const short = (peerId: string) => `…${peerId.slice(-8)}`

/** The report as a Markdown table (the README shows one). */
export function formatReport (report: SeqSearchReport): string {
  const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
  const millions = (cells: number) => (cells / 1e6).toFixed(1)
  const rate = (cells: number, seconds: number) => gcups(cells, seconds).toFixed(3)
  const lines = [
    `${report.queries} queries × ${report.subjects} subjects (${report.residues} residues), ${report.mapTasks} map tasks, ${millions(report.cells)} M cells`,
    '',
    row(['', 'tasks', 'cells (M)', 'aligning (s)', 'GCUPS per task', 'GCUPS over the map']),
    row(['---', '--:', '--:', '--:', '--:', '--:']),
    ...report.providers.map(p => row([`provider ${short(p.peerId)}`, p.tasks, millions(p.cells), p.seconds.toFixed(2), p.gcups.toFixed(3), rate(p.cells, report.gridSeconds)])),
    row([`grid, ${report.providers.length} providers (map: ${report.gridSeconds.toFixed(2)} s wall)`, report.mapTasks, millions(report.cells), report.providers.reduce((sum, p) => sum + p.seconds, 0).toFixed(2), rate(report.cells, report.providers.reduce((sum, p) => sum + p.seconds, 0)), report.gridGcups.toFixed(3)]),
    row(['single process, whole database', 1, millions(report.cells), report.singleSeconds.toFixed(2), report.singleGcups.toFixed(3), report.singleGcups.toFixed(3)]),
    '',
    `reduce on the grid: ${report.reduceSeconds.toFixed(2)} s`,
    `EMBOSS water: ${report.water.pairs - report.water.mismatches.length} of ${report.water.pairs} sampled pairs score the same`,
    `top hits: ${report.queries - report.topHitMismatches.length} of ${report.queries} queries identical to the single-process search`,
  ]
  return lines.join('\n')
}

/** The best hits of the first queries, as a table. */
export function formatTopHits (hits: readonly Hit[], queries: number, perQuery: number): string {
  const lines = ['| query | subject | score |', '| --- | --- | --: |']
  for (const list of [...hitsByQuery(hits).values()].slice(0, queries)) {
    for (const hit of list.slice(0, perQuery)) lines.push(`| ${hit.query} | ${hit.subject} | ${hit.score.toFixed(1)} |`)
  }
  return lines.join('\n')
}

