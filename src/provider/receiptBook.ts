import type { Address, Hex } from 'viem'

/** A requester's best receipt on its payment line to this provider, as this provider holds it. */
export interface HeldReceipt {
  readonly requester: Address
  /** The job the receipt came with (it covers the requester's earlier jobs too). */
  readonly jobId: string
  readonly cumulativeWei: bigint
  readonly paidWei: bigint
  /** open: not yet paid in full; settled: paid in full; short: the requester took its line back without paying it in full. */
  readonly state: 'open' | 'settled' | 'short'
}

/**
 * Where a provider keeps the requesters' receipts, one per payment line (only the highest matters)
 * on one escrow: a node keeps them in SQLite (sqliteReceiptBook.ts), a browser tab in its session storage.
 */
export interface ReceiptBook {
  held(requester: Address): (HeldReceipt & { readonly signature: Hex }) | undefined
  /** Keeps a higher receipt from the requester: it is open (not yet paid in full) again. */
  keep(receipt: { requester: Address, jobId: string, cumulativeWei: bigint, signature: Hex }): void
  /** What the line has paid of the receipt, and so its state. */
  paid(requester: Address, paidWei: bigint, state: HeldReceipt['state']): void
  /** Requesters whose receipt is not yet paid in full. */
  open(): Address[]
  /** The latest receipts first. */
  recent(limit: number): HeldReceipt[]
}
