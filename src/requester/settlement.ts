import type { JobRecord } from './jobRecords.ts'
import type { AgreementProposalBody, TaskReceipt } from '../net/index.ts'

/** Where agreements tell providers to check that a job is paid for. */
export type EscrowRef = NonNullable<AgreementProposalBody['escrow']>

/**
 * Whether a job's settlement has landed: `finalized`, or `refund-pending` while pay reserved ahead
 * and not earned waits out the claim window.
 */
export function isSettled (state: PaymentStatus['state'] | undefined): boolean {
  return state === 'finalized' || state === 'refund-pending'
}

/** What a job has locked, owes and paid (amounts in wei as decimal strings). */
export interface PaymentStatus {
  /**
   * open: escrow holds the budget; finalized: everyone owed was paid and the rest went back;
   * refund-pending: everyone owed was paid, and pay reserved ahead for a provider that stopped, or
   * did fewer tasks than reserved, waits out the escrow's claim window (a day) before it goes back.
   */
  readonly state: 'open' | 'finalized' | 'refund-pending' | 'finalize-failed'
  /** The job's key in the escrow. */
  readonly jobKey: string
  readonly escrowWei: string
  readonly owedWei: string
  readonly paidWei: string
  readonly gasUsed: string
  readonly txCount: number
  readonly error?: string
}

/**
 * Where payments plug into a job's life: an escrow opened before the job exists, reservations and
 * a cumulative receipt per provider as its results are accepted, and a final settlement when the
 * job ends.
 */
export interface Settlement {
  /** Locks the budget of a paid job before it is stored and announced; null for a free job. */
  openJob(job: { id: string, specHash: string, priceWei: string, budgetWei: string }): Promise<EscrowRef | null>
  /** The escrow a job's agreements name (also after a restart). */
  escrowOf(jobId: string): EscrowRef | null
  /** `count` more results of `provider` (its Ethereum address) were accepted: it is owed, and reserved for, more. */
  resultsAccepted(job: JobRecord, provider: string, count: number): void
  /** The signed receipt for everything owed to `provider` so far; undefined when nothing is. */
  receipt(job: JobRecord, agreementId: string, provider: string): TaskReceipt | undefined
  /** The job ended: pay what is owed, record the result root, take the rest back. */
  closeJob(job: JobRecord): Promise<void>
  status(jobId: string): Promise<PaymentStatus | null>
  /** Settles jobs that ended while the node was down (or whose settlement failed). */
  resume(jobs: (jobId: string) => JobRecord): void
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
}
