import type { ReturnedReplica } from './replica.ts'

/**
 * Adaptive replication, as BOINC does it: a provider is trusted after this many valid replicated
 * results in a row; a trusted provider's task then runs once, unless picked for a spot check, with a
 * probability that falls as the streak grows (1 at the threshold, 0.5 at twice it, never below 5 %).
 */
export const TRUST_STREAK = 10
export function spotCheckProbability (streak: number): number {
  return streak < TRUST_STREAK ? 1 : Math.max(0.05, TRUST_STREAK / streak)
}

/**
 * The outcome the replicas settle on, if any. It needs `quorum` identical replicas, and a lead over
 * the largest group that disagrees, counting the replicas still out as possible dissent, of
 * `replication − quorum + 1`: with 2 of 2 a single liar is outvoted by one more honest replica; with
 * 2 of 3, two colluders returning the same wrong output first cannot win against an honest replica,
 * since every further replica goes to another provider.
 */
export function canonicalOutcome (replicas: readonly ReturnedReplica[], pending: number, quorum: number, replication: number): string | undefined {
  const counts = new Map<string, number>()
  for (const replica of replicas) counts.set(replica.outcomeHash, (counts.get(replica.outcomeHash) ?? 0) + 1)
  const ranked = [...counts].sort((a, b) => b[1] - a[1])
  const [best, rival] = [ranked[0], ranked[1]?.[1] ?? 0]
  if (best === undefined || best[1] < quorum) return undefined
  return best[1] - rival - pending >= Math.max(1, replication - quorum + 1) ? best[0] : undefined
}
