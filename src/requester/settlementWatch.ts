import { TransactionReceiptNotFoundError } from 'viem'
import type { LedgerClient, SentTransaction } from '../ledger/index.ts'
import { prepareStatements } from '../util/index.ts'
import type { PreparedStatements } from '../util/index.ts'
import type { DatabaseSync } from 'node:sqlite'
import type { Hex } from 'viem'

// Settlements mined but not yet deep enough to be final; kept across restarts.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS settlements_landed (
  job_id TEXT PRIMARY KEY,
  tx_hash TEXT NOT NULL,
  block_number TEXT NOT NULL
);
`

/** Blocks on top after which a settlement is taken as final, whatever the confirmations asked. */
const SETTLEMENT_FINAL_DEPTH = 12n

const STATEMENTS = {
  insert: 'INSERT OR REPLACE INTO settlements_landed (job_id, tx_hash, block_number) VALUES (?, ?, ?)',
  all: 'SELECT job_id, tx_hash, block_number FROM settlements_landed',
  remove: 'DELETE FROM settlements_landed WHERE job_id = ?',
}

/**
 * Watches settlements until they are SETTLEMENT_FINAL_DEPTH blocks deep (or the node's
 * confirmations, if more): a reorg may drop a settlement that was mined, and then the providers it
 * paid are unpaid again. One that vanished from the chain is reported, so it is sent again.
 */
export class SettlementWatch {
  private readonly client: LedgerClient
  private readonly dropped: (jobId: string) => void
  private readonly everyMs: number
  private readonly statements: PreparedStatements<typeof STATEMENTS>
  private readonly db: DatabaseSync
  private timer: NodeJS.Timeout | undefined
  private checking = false
  /** The head block the last round looked at: with no new block (or reorg) there is nothing to look up again. */
  private lastHead: string | undefined

  constructor (init: { client: LedgerClient, db: DatabaseSync, dropped: (jobId: string) => void, everyMs?: number }) {
    this.client = init.client
    this.dropped = init.dropped
    this.everyMs = init.everyMs ?? 2_000
    this.db = init.db
    init.db.exec(SCHEMA)
    this.statements = prepareStatements(init.db, STATEMENTS)
    // Settlements that landed before a restart are still watched.
    this.schedule()
  }

  /** A job's settlement was mined: watch it until it is final. */
  landed (jobId: string, sent: SentTransaction): void {
    this.statements.insert.run(jobId, sent.hash, String(sent.blockNumber))
    this.lastHead = undefined
    this.schedule()
  }

  private schedule (): void {
    if (this.timer !== undefined || this.statements.all.all().length === 0) return
    this.timer = setInterval(() => void this.check(), this.everyMs)
    this.timer.unref()
  }

  private async check (): Promise<void> {
    if (!this.db.isOpen) {
      clearInterval(this.timer)
      return
    }
    if (this.checking) return
    this.checking = true
    try {
      const rows = this.statements.all.all()
      if (rows.length === 0) {
        clearInterval(this.timer)
        this.timer = undefined
        return
      }
      const latest = await this.client.public.getBlock({ blockTag: 'latest' })
      if (latest.hash === this.lastHead) return
      const head = latest.number
      const finalDepth = BigInt(this.client.confirmations) > SETTLEMENT_FINAL_DEPTH ? BigInt(this.client.confirmations) : SETTLEMENT_FINAL_DEPTH
      for (const row of rows) {
        const jobId = String(row.job_id)
        const receipt = await this.client.public.getTransactionReceipt({ hash: String(row.tx_hash) as Hex }).catch((error: unknown) => {
          if (error instanceof TransactionReceiptNotFoundError) return undefined
          throw error
        })
        if (receipt === undefined) {
          this.statements.remove.run(jobId)
          this.dropped(jobId)
        } else if (head - receipt.blockNumber >= finalDepth) {
          this.statements.remove.run(jobId)
        }
      }
      this.lastHead = latest.hash ?? undefined
    } catch {
      // The chain did not answer: the next round asks again.
    } finally {
      this.checking = false
    }
  }
}
