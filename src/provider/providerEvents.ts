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
  /** A job closed paying less than the requester's own receipt promised: proof of a cheating requester. */
  | { type: 'payment.short', jobId: string, requester: string, owedWei: string, paidWei: string }
  /**
   * The escrow of a job this provider works for is gone (a reorg took its opening away) or was
   * refunded: the job's sessions end, and it is taken again only once an escrow is there again.
   */
  | { type: 'payment.escrow-gone', jobId: string, jobKey: string, requester: string, reason: string }

/** A provider's answer to a job's proposal: take it with at most `maxInFlight` tasks at once, or why not. */
export type AdmissionDecision = { accept: true, maxInFlight: number } | { accept: false, reason: string }
