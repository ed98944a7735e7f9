import type { HeldReceipt, ReceiptBook } from './receiptBook.ts'
import { prepareStatements } from '../util/index.ts'
import type { PreparedStatements } from '../util/index.ts'
import type { DatabaseSync } from 'node:sqlite'
import type { Address, Hex } from 'viem'

// One row per payment line (requester, in lower case) on a deployment of an escrow (see escrowDeployment).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS line_receipts (
  chain_id INTEGER NOT NULL,
  escrow TEXT NOT NULL,
  deployment TEXT NOT NULL,
  requester TEXT NOT NULL,
  job_id TEXT NOT NULL,
  cumulative_wei TEXT NOT NULL,
  signature TEXT NOT NULL,
  paid_wei TEXT NOT NULL DEFAULT '0',
  state TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (chain_id, escrow, deployment, requester)
) WITHOUT ROWID;
`

const STATEMENTS = {
  get: 'SELECT * FROM line_receipts WHERE chain_id = ? AND escrow = ? AND deployment = ? AND requester = ?',
  upsert: `INSERT INTO line_receipts (chain_id, escrow, deployment, requester, job_id, cumulative_wei, signature, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)
    ON CONFLICT (chain_id, escrow, deployment, requester) DO UPDATE SET job_id = excluded.job_id, cumulative_wei = excluded.cumulative_wei, signature = excluded.signature, state = 'open', updated_at = excluded.updated_at`,
  paid: 'UPDATE line_receipts SET paid_wei = ?, state = ?, updated_at = ? WHERE chain_id = ? AND escrow = ? AND deployment = ? AND requester = ?',
  open: 'SELECT requester FROM line_receipts WHERE chain_id = ? AND escrow = ? AND deployment = ? AND state = \'open\'',
  all: 'SELECT * FROM line_receipts WHERE chain_id = ? AND escrow = ? AND deployment = ? ORDER BY updated_at DESC LIMIT ?',
}

/** A node's receipts, in its SQLite database: they outlive restarts, and are claimed after one. */
export class SqliteReceiptBook implements ReceiptBook {
  private readonly chainId: number
  private readonly escrow: Address
  private readonly deployment: string
  private readonly statements: PreparedStatements<typeof STATEMENTS>

  constructor (db: DatabaseSync, chain: { chainId: number, escrow: Address, deployment: string }) {
    this.chainId = chain.chainId
    this.escrow = chain.escrow
    this.deployment = chain.deployment
    db.exec(SCHEMA)
    this.statements = prepareStatements(db, STATEMENTS)
  }

  held (requester: Address): (HeldReceipt & { signature: Hex }) | undefined {
    const row = this.statements.get.get(this.chainId, this.escrow, this.deployment, requester.toLowerCase())
    return row === undefined ? undefined : { ...toHeld(row), signature: String(row.signature) as Hex }
  }

  keep (receipt: { requester: Address, jobId: string, cumulativeWei: bigint, signature: Hex }): void {
    this.statements.upsert.run(this.chainId, this.escrow, this.deployment, receipt.requester.toLowerCase(), receipt.jobId, String(receipt.cumulativeWei), receipt.signature, Date.now())
  }

  paid (requester: Address, paidWei: bigint, state: HeldReceipt['state']): void {
    this.statements.paid.run(String(paidWei), state, Date.now(), this.chainId, this.escrow, this.deployment, requester.toLowerCase())
  }

  open (): Address[] {
    return this.statements.open.all(this.chainId, this.escrow, this.deployment).map(row => String(row.requester) as Address)
  }

  recent (limit: number): HeldReceipt[] {
    return this.statements.all.all(this.chainId, this.escrow, this.deployment, limit).map(toHeld)
  }
}

function toHeld (row: Record<string, unknown>): HeldReceipt {
  return {
    requester: String(row.requester) as Address,
    jobId: String(row.job_id),
    cumulativeWei: BigInt(String(row.cumulative_wei)),
    paidWei: BigInt(String(row.paid_wei)),
    state: row.state as HeldReceipt['state'],
  }
}
