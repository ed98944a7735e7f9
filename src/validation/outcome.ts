import { createHash } from 'node:crypto'
import { canonicalJson } from '../identity/index.ts'
import type { FloatTolerance } from './floatTolerance.ts'
import type { TaskResult } from '../net/index.ts'

/** How replicas' outputs are compared (job spec `compare`); by default, exactly. */
export interface OutputComparison {
  /**
   * Numbers in stdout are compared to this many significant digits: floating-point results that
   * differ in their last bits across CPUs and compilers still agree. Other text must be identical.
   * Applies to stdout that travels inline (up to 64 KiB); larger stdout and /out files compare by CID.
   */
  readonly significantDigits?: number
  /**
   * Files in /out (by path) that are arrays of floats, compared element-wise within these bounds
   * (see withinTolerance) rather than by CID. Everything else still compares exactly.
   */
  readonly tolerance?: Readonly<Record<string, FloatTolerance>>
}

/** What outcomes are made of: a task's result, or a returned replica read back from the job store. */
export type Outcome = Pick<TaskResult, 'status' | 'exitCode' | 'reason' | 'files'> & { readonly stdout: Pick<TaskResult['stdout'], 'cid' | 'inline'> }

const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/g

/** stdout with every number rounded to `digits` significant digits, for comparison only. */
export function roundedStdout (text: string, digits: number): string {
  return text.replace(NUMBER, token => {
    const value = Number(token)
    return Number.isFinite(value) ? String(Number(value.toPrecision(digits))) : token
  })
}

/**
 * What two replicas must agree on: the exit code and the content of stdout and every file in /out
 * (by CID, or stdout's numbers rounded, see OutputComparison) — or the same deterministic failure.
 * stderr is left out: it often carries timings.
 */
export function outcomeHash (result: Outcome, compare: OutputComparison = {}): string {
  return hashOutcome(result, compare, () => false)
}

/**
 * The part of an outcome that must still match exactly when `compare.tolerance` names files: the
 * outcome hash with those files counted by path and size instead of CID. Replicas of one shape then
 * agree when the named files are within tolerance.
 */
export function outcomeShape (result: Outcome, compare: OutputComparison): string {
  return hashOutcome(result, compare, path => compare.tolerance?.[path] !== undefined)
}

function hashOutcome (result: Outcome, compare: OutputComparison, bySize: (path: string) => boolean): string {
  let stdout: string = result.stdout.cid
  if (compare.significantDigits !== undefined && result.stdout.inline !== undefined) {
    stdout = `rounded:${roundedStdout(Buffer.from(result.stdout.inline, 'base64').toString('utf8'), compare.significantDigits)}`
  }
  const outcome = result.status === 'exit'
    ? { exit: result.exitCode, stdout, files: result.files.map(file => [file.path, bySize(file.path) ? `size:${file.size}` : file.cid]).sort() }
    : { failed: result.reason }
  return createHash('sha256').update(canonicalJson(outcome)).digest('hex')
}
