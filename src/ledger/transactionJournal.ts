import { prepareStatements } from '../util/index.ts'
import type { PreparedStatements } from '../util/index.ts'
import type { DatabaseSync } from 'node:sqlite'
import type { Address, Hex } from 'viem'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sent_transactions (
  chain_id INTEGER NOT NULL,
  account TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  hash TEXT NOT NULL,
  raw TEXT NOT NULL,
  signed_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_transactions_by_nonce ON sent_transactions (chain_id, account, nonce);
`

/** A nonce's transactions not yet known mined: every version signed (replacements raise the fees), the latest last. */
export interface InFlight {
  readonly nonce: number
  readonly hashes: Hex[]
  /** The latest version, signed and serialized: what is sent again after a restart. */
  readonly raw: Hex
}

const STATEMENTS = {
  insert: 'INSERT INTO sent_transactions (chain_id, account, nonce, hash, raw, signed_at) VALUES (?, ?, ?, ?, ?, ?)',
  forget: 'DELETE FROM sent_transactions WHERE chain_id = ? AND hash = ?',
  mined: 'DELETE FROM sent_transactions WHERE chain_id = ? AND account = ? AND nonce <= ?',
  next: 'SELECT max(nonce) + 1 AS next FROM sent_transactions WHERE chain_id = ? AND account = ?',
  all: 'SELECT nonce, hash, raw FROM sent_transactions WHERE chain_id = ? AND account = ? ORDER BY nonce, rowid',
}

/**
 * The node's transactions from signing until mined, in SQLite: an account's one sequence of nonces
 * outlives the process. A node restarted with transactions in flight sends those very transactions
 * again (never another one under their nonces) and numbers new ones after them (no gap), even when
 * the RPC endpoint's pool has forgotten them.
 */
export class TransactionJournal {
  private readonly chainId: number
  private readonly db: DatabaseSync
  private readonly statements: PreparedStatements<typeof STATEMENTS>

  constructor (db: DatabaseSync, chainId: number) {
    this.chainId = chainId
    this.db = db
    db.exec(SCHEMA)
    this.statements = prepareStatements(db, STATEMENTS)
  }

  /** False once the node has stopped (its database closed): transactions in flight are left to its next start. */
  get isOpen (): boolean {
    return this.db.isOpen
  }

  /** The nonce after every one in flight; undefined when none is. */
  nextNonce (account: Address): number | undefined {
    const next = this.statements.next.get(this.chainId, account.toLowerCase())?.next
    return next === null || next === undefined ? undefined : Number(next)
  }

  /** Records a signed transaction, before it is sent. */
  signed (account: Address, nonce: number, hash: Hex, raw: Hex): void {
    this.statements.insert.run(this.chainId, account.toLowerCase(), nonce, hash, raw, Date.now())
  }

  /** A transaction the endpoint refused: it holds no nonce. */
  forget (hash: Hex): void {
    this.statements.forget.run(this.chainId, hash)
  }

  /** A transaction under `nonce` was mined: it, and all below it, are done. */
  mined (account: Address, nonce: number): void {
    this.statements.mined.run(this.chainId, account.toLowerCase(), nonce)
  }

  inFlight (account: Address): InFlight[] {
    const byNonce = new Map<number, { hashes: Hex[], raw: Hex }>()
    for (const row of this.statements.all.all(this.chainId, account.toLowerCase())) {
      const nonce = Number(row.nonce)
      const entry = byNonce.get(nonce) ?? { hashes: [], raw: '0x' }
      entry.hashes.push(String(row.hash) as Hex)
      entry.raw = String(row.raw) as Hex
      byNonce.set(nonce, entry)
    }
    return [...byNonce].map(([nonce, entry]) => ({ nonce, ...entry }))
  }
}
