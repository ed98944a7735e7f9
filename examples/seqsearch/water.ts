/**
 * EMBOSS water, Debian's independent Smith-Waterman, run as a subprocess: the reference the
 * example's scores are checked against.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface WaterOptions {
  /** EMBOSS's name for the matrix (looked up in its data directory), e.g. EBLOSUM62. */
  readonly matrix: string
  readonly gapOpen: number
  readonly gapExtend: number
}

export class WaterError extends Error {
  override readonly name = 'WaterError'
}

/**
 * water's score for the first sequence of `queryFasta` against every sequence of `subjectsFasta`,
 * by subject id.
 */
export async function waterScores (queryFasta: string, subjectsFasta: string, options: WaterOptions): Promise<Map<string, number>> {
  const args = [
    // Proteins, said so: water would take a short run of W, C, H, Y, M… for IUPAC nucleotide codes.
    '-asequence', `fasta::${queryFasta}`, '-sprotein1', '-bsequence', `fasta::${subjectsFasta}`, '-sprotein2',
    '-datafile', options.matrix, '-gapopen', String(options.gapOpen), '-gapextend', String(options.gapExtend),
    '-aformat', 'score', '-outfile', 'stdout', '-auto',
  ]
  let stdout: string
  try {
    ({ stdout } = await run('water', args, { maxBuffer: 64 * 1024 * 1024 }))
  } catch (err) {
    const { code, stderr } = err as { code?: unknown, stderr?: string }
    if (code === 'ENOENT') throw new WaterError('EMBOSS water is not installed (Debian: apt-get install emboss emboss-data)')
    throw new WaterError(`water ${args.join(' ')} failed: ${stderr ?? String(err)}`)
  }
  const scores = new Map<string, number>()
  // The score format: "<a> <b> <alignment length> (<score>)" per pair; '#' lines are comments.
  for (const line of stdout.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const match = /^(\S+) (\S+) (\d+) \((-?\d+(?:\.\d+)?)\)$/.exec(line)
    if (match === null) throw new WaterError(`cannot read water's line ${JSON.stringify(line)}`)
    scores.set(match[2]!, Number(match[4]))
  }
  return scores
}
