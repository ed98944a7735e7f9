import type { Address, Hex } from 'viem'

/** One job's best receipt, as this provider holds it. */
export interface HeldReceipt {
  /** The job's key in the escrow. */
  readonly jobKey: Hex
  readonly jobId: string
  readonly requester: Address
  readonly cumulativeWei: bigint
  readonly paidWei: bigint
  /** open: not yet paid in full; settled: paid in full; short: the job settled paying less than the receipt says. */
  readonly state: 'open' | 'settled' | 'short'
}

/**
 * Where a provider keeps the requester's receipts, one per job (only the highest matters) on one
 * escrow: a node keeps them in SQLite (sqliteReceiptBook.ts), a browser tab in its session storage.
 */
export interface ReceiptBook {
  held(jobKey: Hex): (HeldReceipt & { readonly signature: Hex }) | undefined
  /** Keeps a higher receipt for the job: it is open (not yet paid in full) again. */
  keep(receipt: { jobKey: Hex, jobId: string, requester: Address, cumulativeWei: bigint, signature: Hex }): void
  /** What the escrow has paid for the job's receipt, and so its state. */
  paid(jobKey: Hex, paidWei: bigint, state: HeldReceipt['state']): void
  /** Jobs whose receipt is not yet paid in full. */
  open(): Hex[]
  /** The latest receipts first. */
  recent(limit: number): HeldReceipt[]
}
