import type { ConnectionPath } from '../net/index.ts'
import type { JobState } from './taskState.ts'

/** What the requester tells its listeners (the node API, the CLI's --watch, the dashboard). */
export type RequesterEvent =
  | { type: 'job.submitted', jobId: string, taskCount: number }
  | { type: 'provider.linked', jobId: string, provider: string, maxInFlight: number, path: ConnectionPath }
  /** The session with a provider moved to another connection (a hole punch succeeded, or a relay went away). */
  | { type: 'provider.moved', jobId: string, provider: string, path: ConnectionPath }
  | { type: 'provider.lost', jobId: string, provider: string, reason: string }
  | { type: 'task.dispatched', jobId: string, idx: number, attempt: number, provider: string }
  /** A replica returned an outcome; its task waits for the other replicas to reach a quorum. */
  | { type: 'task.validating', jobId: string, idx: number, provider: string }
  | { type: 'task.done', jobId: string, idx: number, provider: string, exitCode: number, wallMs: number }
  /**
   * A provider's result was judged: it agreed with the canonical outcome (valid) or not (invalid),
   * or was accepted alone from a trusted provider (unchecked).
   */
  | { type: 'result.judged', jobId: string, idx: number, provider: string, verdict: 'valid' | 'invalid' | 'unchecked' }
  | { type: 'task.retry', jobId: string, idx: number, provider: string, reason: string }
  | { type: 'task.failed', jobId: string, idx: number, provider: string | null, reason: string, message: string }
  | { type: 'job.finished', jobId: string, state: Exclude<JobState, 'running'> }
  /** A paid job was settled: every provider paid what its line owed it, the result root recorded. */
  | { type: 'job.settled', jobId: string, paidWei: string, resultRoot: string }
  | { type: 'job.settlement-failed', jobId: string, message: string }
  /** Reserving providers' pay on their payment lines failed; it is tried again shortly and with the next accepted results. */
  | { type: 'job.reservation-failed', jobId: string, message: string }
  /** Before a job (or a reservation or settlement of it) the requester topped up its standing balance in the escrow (amounts in wei). */
  | { type: 'escrow.deposited', jobId: string, amountWei: string, freeWei: string, gasUsed: string }
