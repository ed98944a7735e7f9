import { TransactionReceiptNotFoundError } from 'viem'
import type { LedgerClient, SentTransaction } from '../ledger/index.ts'
import { prepareStatements } from '../util/index.ts'
import type { PreparedStatements } from '../util/index.ts'
import type { DatabaseSync } from 'node:sqlite'
import type { Hex } from 'viem'

/**
 * Where a watch keeps the transactions it watches, one per job, across restarts: reservations on
 * payment lines and settlements each have their own table.
 */
export type LandedTable = 'reservations_landed' | 'settlements_landed'

function statementsFor (table: LandedTable) {
  return {
    insert: `INSERT OR REPLACE INTO ${table} (job_id, tx_hash, block_number) VALUES (?, ?, ?)`,
    all: `SELECT job_id, tx_hash, block_number FROM ${table}`,
    remove: `DELETE FROM ${table} WHERE job_id = ?`,
  }
}

/** Blocks on top after which a transaction is taken as final, whatever the confirmations asked. */
const FINAL_DEPTH = 12n

/**
 * Watches a job's mined transactions until they are FINAL_DEPTH blocks deep (or the node's
 * confirmations, if more): a reorg may drop one that was mined (a reservation, so that its
 * providers work on receipts the chain no longer covers; a settlement, so that the providers it paid are
 * unpaid again). One that vanished from the chain is reported, so that it is sent again.
 */
export class LandedWatch {
  private readonly client: LedgerClient
  private readonly dropped: (jobId: string) => void
  private readonly everyMs: number
  private readonly statements: PreparedStatements<ReturnType<typeof statementsFor>>
  private readonly db: DatabaseSync
  private timer: NodeJS.Timeout | undefined
  private checking = false
  /** The head block the last round looked at: with no new block (or reorg) there is nothing to look up again. */
  private lastHead: string | undefined

  constructor (init: { client: LedgerClient, db: DatabaseSync, table: LandedTable, dropped: (jobId: string) => void, everyMs?: number }) {
    this.client = init.client
    this.dropped = init.dropped
    this.everyMs = init.everyMs ?? 2_000
    this.db = init.db
    init.db.exec(`CREATE TABLE IF NOT EXISTS ${init.table} (job_id TEXT PRIMARY KEY, tx_hash TEXT NOT NULL, block_number TEXT NOT NULL)`)
    this.statements = prepareStatements(init.db, statementsFor(init.table))
    // Transactions that landed before a restart are still watched.
    this.schedule()
  }

  /** A job's transaction was mined: watch it until it is final. */
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
      const finalDepth = BigInt(this.client.confirmations) > FINAL_DEPTH ? BigInt(this.client.confirmations) : FINAL_DEPTH
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
