import { createHash } from 'node:crypto'
import { canonicalJson } from '../identity/index.ts'
import type { TaskResult } from '../net/index.ts'

/** How replicas' outputs are compared (job spec `compare`); by default, exactly. */
export interface OutputComparison {
  /**
   * Numbers in stdout are compared to this many significant digits: floating-point results that
   * differ in their last bits across CPUs and compilers still agree. Other text must be identical.
   * Applies to stdout that travels inline (up to 64 KiB); larger stdout and /out files compare by CID.
   */
  readonly significantDigits?: number
}

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
export function outcomeHash (result: TaskResult, compare: OutputComparison = {}): string {
  let stdout: string = result.stdout.cid
  if (compare.significantDigits !== undefined && result.stdout.inline !== undefined) {
    stdout = `rounded:${roundedStdout(Buffer.from(result.stdout.inline, 'base64').toString('utf8'), compare.significantDigits)}`
  }
  const outcome = result.status === 'exit'
    ? { exit: result.exitCode, stdout, files: result.files.map(file => [file.path, file.cid]).sort() }
    : { failed: result.reason }
  return createHash('sha256').update(canonicalJson(outcome)).digest('hex')
}
