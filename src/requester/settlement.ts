import type { JobRecord } from './jobStore.ts'

/**
 * Where payments plug into a job's life. The ledger implements this with an on-chain escrow
 * (opened before the job is announced, referenced in every agreement) and cumulative signed
 * receipts (one per accepted batch of results). Until then jobs run unpaid.
 */
export interface Settlement {
  /** Called once before the job is announced; returns the escrow reference agreements carry. */
  openJob(job: JobRecord): Promise<null>
  /** Results of `provider` (its Ethereum address) were accepted: `count` more tasks are owed. */
  resultsAccepted(job: JobRecord, provider: string, count: number): void
  /** The job ended; the unspent budget can go back. */
  closeJob(job: JobRecord): Promise<void>
}

/** Jobs without payments: nothing is escrowed, owed or paid. */
export const unpaid: Settlement = {
  openJob: async () => null,
  resultsAccepted: () => {},
  closeJob: async () => {},
}
