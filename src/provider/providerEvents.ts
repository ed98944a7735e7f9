/** What the agent tells its listeners (the node API, the dashboard). */
export type ProviderEvent =
  | { type: 'agreement.accepted', jobId: string, requester: string }
  | { type: 'task.queued', jobId: string, taskId: string }
  | { type: 'task.started', jobId: string, taskId: string }
  /** Cancelled while it still waited for a slot. */
  | { type: 'task.dropped', jobId: string, taskId: string }
  | { type: 'task.finished', jobId: string, taskId: string, status: 'exit' | 'failed', reason: string | undefined, wallMs: number }
  | { type: 'protocol.rejected', peer: string, code: string, message: string }
  | { type: 'receipt.received', jobId: string, cumulativeWei: string }
  | { type: 'receipt.rejected', jobId: string, reason: string }
  | { type: 'payment.claimed', jobId: string, cumulativeWei: string }
  /** A requester's tasks wait: too many results it was given are not yet paid for sure (see MAX_UNPAID_RESULTS). */
  | { type: 'payment.awaited', jobId: string, requester: string, unpaidResults: number }
  /** A requester announced it takes its line back while its own receipt is not paid in full: proof of a cheating requester. */
  | { type: 'payment.short', jobId: string, requester: string, owedWei: string, paidWei: string }
  /**
   * A requester this provider works for announced that it takes back what its payment line here
   * holds: its paid sessions end, what it owes is claimed, and its jobs are taken again only once
   * a reservation withdraws the announcement.
   */
  | { type: 'payment.line-released', requester: string, reason: string }
  /** A requester's line now holds more for this provider: results up to it are paid for sure. */
  | { type: 'payment.reserved', requester: string, reservedWei: string }
  /** The chain now holds less on a requester's line than this provider read before (a reorg took a reservation away): results it covered count as unpaid again. */
  | { type: 'payment.reservation-lost', requester: string, reservedWei: string, wasWei: string }

/** A provider's answer to a job's proposal: take it with at most `maxInFlight` tasks at once, or why not. */
export type AdmissionDecision = { accept: true, maxInFlight: number } | { accept: false, reason: string }
