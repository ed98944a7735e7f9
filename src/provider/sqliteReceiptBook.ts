import type { HeldReceipt, ReceiptBook } from './receiptBook.ts'
import { prepareStatements } from '../util/index.ts'
import type { PreparedStatements } from '../util/index.ts'
import type { DatabaseSync } from 'node:sqlite'
import type { Address, Hex } from 'viem'

// onchain_id holds the job's key in the escrow (keccak256 of the requester and its job id).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS receipts (
  onchain_id TEXT NOT NULL,
  escrow TEXT NOT NULL,
  chain_id INTEGER NOT NULL,
  job_id TEXT NOT NULL,
  requester TEXT NOT NULL,
  cumulative_wei TEXT NOT NULL,
  signature TEXT NOT NULL,
  paid_wei TEXT NOT NULL DEFAULT '0',
  state TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (chain_id, escrow, onchain_id)
) WITHOUT ROWID;
`

const STATEMENTS = {
  get: 'SELECT * FROM receipts WHERE chain_id = ? AND escrow = ? AND onchain_id = ?',
  upsert: `INSERT INTO receipts (onchain_id, escrow, chain_id, job_id, requester, cumulative_wei, signature, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)
    ON CONFLICT (chain_id, escrow, onchain_id) DO UPDATE SET cumulative_wei = excluded.cumulative_wei, signature = excluded.signature, state = 'open', updated_at = excluded.updated_at`,
  paid: 'UPDATE receipts SET paid_wei = ?, state = ?, updated_at = ? WHERE chain_id = ? AND escrow = ? AND onchain_id = ?',
  open: 'SELECT onchain_id FROM receipts WHERE chain_id = ? AND escrow = ? AND state = \'open\'',
  all: 'SELECT * FROM receipts WHERE chain_id = ? AND escrow = ? ORDER BY updated_at DESC LIMIT ?',
}

/** A node's receipts, in its SQLite database: they outlive restarts, and are claimed after one. */
export class SqliteReceiptBook implements ReceiptBook {
  private readonly chainId: number
  private readonly escrow: Address
  private readonly statements: PreparedStatements<typeof STATEMENTS>

  constructor (db: DatabaseSync, chain: { chainId: number, escrow: Address }) {
    this.chainId = chain.chainId
    this.escrow = chain.escrow
    db.exec(SCHEMA)
    this.statements = prepareStatements(db, STATEMENTS)
  }

  held (jobKey: Hex): (HeldReceipt & { signature: Hex }) | undefined {
    const row = this.statements.get.get(this.chainId, this.escrow, jobKey)
    return row === undefined ? undefined : { ...toHeld(row), signature: String(row.signature) as Hex }
  }

  keep (receipt: { jobKey: Hex, jobId: string, requester: Address, cumulativeWei: bigint, signature: Hex }): void {
    this.statements.upsert.run(receipt.jobKey, this.escrow, this.chainId, receipt.jobId, receipt.requester, String(receipt.cumulativeWei), receipt.signature, Date.now())
  }

  paid (jobKey: Hex, paidWei: bigint, state: HeldReceipt['state']): void {
    this.statements.paid.run(String(paidWei), state, Date.now(), this.chainId, this.escrow, jobKey)
  }

  open (): Hex[] {
    return this.statements.open.all(this.chainId, this.escrow).map(row => String(row.onchain_id) as Hex)
  }

  recent (limit: number): HeldReceipt[] {
    return this.statements.all.all(this.chainId, this.escrow, limit).map(toHeld)
  }
}

function toHeld (row: Record<string, unknown>): HeldReceipt {
  return {
    jobKey: String(row.onchain_id) as Hex,
    jobId: String(row.job_id),
    requester: String(row.requester) as Address,
    cumulativeWei: BigInt(String(row.cumulative_wei)),
    paidWei: BigInt(String(row.paid_wei)),
    state: row.state as HeldReceipt['state'],
  }
}
