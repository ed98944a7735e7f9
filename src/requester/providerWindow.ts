import type { ProviderLink } from './providerLink.ts'

/** What the window of one provider depends on. */
export interface ProviderPace {
  /** Cores the provider offered: how many of the window run at once. */
  readonly cores: number
  /** Moving average of its sandbox time per task, in ms (undefined until a result). */
  readonly taskMs: number | undefined
  readonly link: Pick<ProviderLink, 'maxInFlight' | 'rttMs'>
}

/**
 * How much queued work to keep at a provider beyond what runs: enough to cover a result batch and
 * the round trip to the provider, no more, so that long tasks are not stuck behind each other at
 * one provider while another is idle. A far provider (a long round trip) holds more, or it would
 * sit idle waiting for its next assignment.
 */
const QUEUE_TARGET_MS = 50

/**
 * The window actually used: cores plus the queued tasks that cover QUEUE_TARGET_MS and two round
 * trips (a result's way back and the next assignment's way out take one; the link's round trip is
 * its best seen, and a queue sized to the best case runs dry on every slower one), within the
 * agreed maximum.
 */
export function windowOf (state: ProviderPace): number {
  const coverMs = QUEUE_TARGET_MS + 2 * (state.link.rttMs() ?? 0)
  const queued = state.taskMs === undefined ? 1 : Math.ceil((state.cores * coverMs) / Math.max(state.taskMs, 0.05))
  return Math.min(state.link.maxInFlight, state.cores + Math.max(1, queued))
}
