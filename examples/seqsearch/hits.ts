/** The aligner's outputs: hits files (JSON Lines) and the one-line summary a search prints. */

export interface Hit {
  readonly query: string
  readonly subject: string
  readonly score: number
  readonly queryLength: number
  readonly subjectLength: number
}

export interface SearchSummary {
  readonly queries: number
  readonly subjects: number
  readonly pairs: number
  /** Dynamic-programming cells: query length × subject length, summed over the pairs. */
  readonly cells: number
  /** Time spent aligning, measured inside the module. */
  readonly seconds: number
}

export class HitsFormatError extends Error {
  override readonly name = 'HitsFormatError'
}

function isHit (value: unknown): value is Hit {
  const hit = value as Record<string, unknown>
  return typeof value === 'object' && value !== null && typeof hit.query === 'string' && typeof hit.subject === 'string' &&
    typeof hit.score === 'number' && Number.isInteger(hit.queryLength) && Number.isInteger(hit.subjectLength)
}

/** Parses a hits file: one hit object a line. */
export function parseHits (text: string, source: string): Hit[] {
  return text.split('\n').filter(line => line !== '').map((line, n) => {
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw new HitsFormatError(`${source} line ${n + 1} is not JSON`)
    }
    if (!isHit(value)) throw new HitsFormatError(`${source} line ${n + 1} is not a hit: ${line}`)
    return value
  })
}

/** Parses the summary line a search prints on stdout. */
export function parseSummary (text: string, source: string): SearchSummary {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new HitsFormatError(`${source}: the summary is not JSON: ${JSON.stringify(text.slice(0, 200))}`)
  }
  for (const key of ['queries', 'subjects', 'pairs', 'cells', 'seconds']) {
    if (typeof value[key] !== 'number') throw new HitsFormatError(`${source}: the summary has no number "${key}"`)
  }
  return value as unknown as SearchSummary
}

/** Hits grouped by query, in file order. */
export function hitsByQuery (hits: readonly Hit[]): Map<string, Hit[]> {
  const byQuery = new Map<string, Hit[]>()
  for (const hit of hits) byQuery.set(hit.query, [...byQuery.get(hit.query) ?? [], hit])
  return byQuery
}

/** Billions of cell updates per second. */
export function gcups (cells: number, seconds: number): number {
  return seconds > 0 ? cells / seconds / 1e9 : 0
}
