/**
 * Validation: how replicas of a task are judged (pure functions over what the requester holds).
 * The canonical-outcome rule and adaptive replication's spot checks, outcome hashes and the
 * comparisons they allow (rounded stdout, float files within a tolerance), and the checks a
 * result's claimed outputs must pass before anything of them is fetched.
 */
export { canonicalOutcome, spotCheckProbability, TRUST_STREAK } from './canonicalOutcome.ts'
export { checkOutputs, invalidOutput } from './checkOutputs.ts'
export { outcomeHash, outcomeShape, roundedStdout } from './outcome.ts'
export type { Outcome, OutputComparison } from './outcome.ts'
export { withinTolerance } from './floatTolerance.ts'
export type { FloatTolerance } from './floatTolerance.ts'
export { storedOutcome, toleranceMatch, toleranceView } from './toleranceMatch.ts'
export type { ToleranceView } from './toleranceMatch.ts'
export type { ReturnedOutput, ReturnedReplica, StoredOutput } from './replica.ts'
