import type { JobRecord } from './jobRecords.ts'
import type { AgreementProposalBody, TaskReceipt } from '../net/index.ts'

/** The escrow a job's agreements name, whose payment lines pay its providers, and the job's id there. */
export type EscrowRef = NonNullable<AgreementProposalBody['escrow']>

/** Whether a job's settlement has landed. */
export function isSettled (state: PaymentStatus['state'] | undefined): boolean {
  return state === 'finalized'
}

/** What a job may spend, owes and paid (amounts in wei as decimal strings). */
export interface PaymentStatus {
  /** open: running, its providers paid by receipts on their payment lines; finalized: its settlement paid everyone it owes. */
  readonly state: 'open' | 'finalized' | 'finalize-failed'
  /** The job's id in the escrow's JobSettled event. */
  readonly jobKey: string
  /** The job's budget: what its requester means to spend on it at most (it is not locked on its own). */
  readonly escrowWei: string
  readonly owedWei: string
  readonly paidWei: string
  readonly gasUsed: string
  readonly txCount: number
  readonly error?: string
}

/** A payment line to one provider, as a release leaves it (amounts in wei as decimal strings). */
export interface LineRelease {
  readonly provider: string
  /** What the line held reserved and unpaid before this release. */
  readonly heldWei: string
  /**
   * announced: the notice starts now; waiting: announced before, not over yet; released: what it
   * held is free in the standing balance again; in-use: a running job pays its provider, so it is left alone.
   */
  readonly state: 'announced' | 'waiting' | 'released' | 'in-use'
  /** When the notice is over (Unix seconds, chain time); null when none runs. */
  readonly releaseAt: number | null
}

/**
 * Where payments plug into a job's life: its budget in the escrow before the job exists,
 * reservations and a cumulative receipt per provider as its results are accepted, and a
 * settlement when the job ends.
 */
export interface Settlement {
  /** Makes sure the budget of a paid job is in the escrow before it is stored and announced; null for a free job. */
  openJob(job: { id: string, specHash: string, priceWei: string, budgetWei: string }): Promise<EscrowRef | null>
  /** The escrow a job's agreements name (also after a restart). */
  escrowOf(jobId: string): EscrowRef | null
  /** `count` more results of `provider` (its Ethereum address) were accepted: it is owed, and reserved for, more. */
  resultsAccepted(job: JobRecord, provider: string, count: number): void
  /** The signed receipt for everything owed to `provider` so far; undefined when nothing is. */
  receipt(job: JobRecord, agreementId: string, provider: string): TaskReceipt | undefined
  /** The job ended: pay what is owed and record the result root. */
  closeJob(job: JobRecord): Promise<void>
  status(jobId: string): Promise<PaymentStatus | null>
  /** Settles jobs that ended while the node was down (or whose settlement failed). */
  resume(jobs: (jobId: string) => JobRecord): void
  /**
   * Takes back what the payment lines to providers no running job pays hold unpaid: announces
   * each release, and does those whose notice is over (called again after the notice).
   */
  releaseLines(): Promise<LineRelease[]>
}

/** Jobs without payments: nothing is escrowed, owed or paid. */
export const unpaid: Settlement = {
  openJob: async () => null,
  escrowOf: () => null,
  resultsAccepted: () => {},
  receipt: () => undefined,
  closeJob: async () => {},
  status: async () => null,
  resume: () => {},
  releaseLines: async () => [],
}
