import { finalizeJob, onchainJobId, openJob, readEscrowJob, resultRoot, signReceipt } from '../ledger/index.ts'
import { transaction } from '../util/index.ts'
import type { EscrowRef, PaymentStatus, Settlement } from './settlement.ts'
import type { JobRecord, JobStore } from './jobStore.ts'
import type { RequesterEvent } from './requesterEvents.ts'
import type { NodeKey } from '../identity/index.ts'
import type { LedgerClient } from '../ledger/index.ts'
import type { TaskReceipt } from '../net/index.ts'
import type { EventHub } from '../util/index.ts'
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import type { Address, Hex } from 'viem'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS escrows (
  job_id TEXT PRIMARY KEY,
  onchain_id TEXT NOT NULL,
  escrow TEXT NOT NULL,
  price_wei TEXT NOT NULL,
  budget_wei TEXT NOT NULL,
  state TEXT NOT NULL,
  paid_wei TEXT NOT NULL DEFAULT '0',
  gas_used TEXT NOT NULL DEFAULT '0',
  tx_count INTEGER NOT NULL DEFAULT 0,
  error TEXT
);
`

/** How long a job's escrow stays locked at most; the contract adds a day for providers to claim. */
const ESCROW_LIFETIME_S = 7n * 24n * 3600n

/** What never changes about a job's escrow once it is open. */
interface EscrowTerms {
  readonly ref: { address: Address, jobId: Hex, budgetWei: string }
  readonly priceWei: bigint
}

/**
 * Pays for jobs through the JobEscrow contract. What a provider is owed is never stored on its
 * own: it is the job's price times the provider's accepted results, which the job store already
 * keeps transactionally, so a restarted requester signs exactly the receipts it signed before.
 */
export class EscrowSettlement implements Settlement {
  private readonly client: LedgerClient
  private readonly key: NodeKey
  private readonly store: JobStore
  private readonly events: EventHub<RequesterEvent>
  private readonly statements: Record<string, StatementSync>
  private readonly db: DatabaseSync
  /** Accepted results per job and provider address, loaded from the job store on first use. */
  private readonly accepted = new Map<string, Map<string, number>>()
  private readonly closing = new Map<string, Promise<void>>()
  private readonly terms = new Map<string, EscrowTerms | null>()

  constructor (init: { client: LedgerClient, key: NodeKey, db: DatabaseSync, store: JobStore, events: EventHub<RequesterEvent> }) {
    this.client = init.client
    this.key = init.key
    this.store = init.store
    this.events = init.events
    this.db = init.db
    init.db.exec(SCHEMA)
    this.statements = {
      insert: init.db.prepare('INSERT INTO escrows (job_id, onchain_id, escrow, price_wei, budget_wei, state, gas_used, tx_count) VALUES (?, ?, ?, ?, ?, \'open\', ?, 1)'),
      get: init.db.prepare('SELECT * FROM escrows WHERE job_id = ?'),
      unsettled: init.db.prepare('SELECT job_id FROM escrows WHERE state != \'finalized\''),
      finalized: init.db.prepare('UPDATE escrows SET state = \'finalized\', paid_wei = ?, gas_used = CAST(CAST(gas_used AS INTEGER) + ? AS TEXT), tx_count = tx_count + 1, error = NULL WHERE job_id = ?'),
      failed: init.db.prepare('UPDATE escrows SET state = \'finalize-failed\', error = ? WHERE job_id = ?'),
    }
  }

  async openJob (job: { id: string, specHash: string, priceWei: string, budgetWei: string }): Promise<EscrowRef | null> {
    if (BigInt(job.priceWei) === 0n) return null
    const jobId = onchainJobId(this.key.address, job.id)
    const now = (await this.client.public.getBlock()).timestamp
    const sent = await openJob(this.client, { jobId, specHash: job.specHash as Hex, budget: BigInt(job.budgetWei), deadline: now + ESCROW_LIFETIME_S })
    this.statements.insert!.run(job.id, jobId, this.client.info.escrow, job.priceWei, job.budgetWei, String(sent.gasUsed))
    return { address: this.client.info.escrow, jobId, budgetWei: job.budgetWei }
  }

  escrowOf (jobId: string): EscrowRef | null {
    return this.termsOf(jobId)?.ref ?? null
  }

  resultsAccepted (job: JobRecord, provider: string, count: number): void {
    if (this.termsOf(job.id) === undefined) return
    // Loading the counts from the store (first use, e.g. after a restart) already includes these.
    if (!this.accepted.has(job.id)) {
      this.countsOf(job.id)
      return
    }
    const counts = this.countsOf(job.id)
    counts.set(provider.toLowerCase(), (counts.get(provider.toLowerCase()) ?? 0) + count)
  }

  receipt (job: JobRecord, agreementId: string, provider: string): TaskReceipt | undefined {
    const row = this.termsOf(job.id)
    const count = this.countsOf(job.id).get(provider.toLowerCase()) ?? 0
    if (row === undefined || count === 0) return undefined
    const body = {
      agreementId,
      jobId: job.id,
      chainId: this.client.info.chainId,
      escrow: row.ref.address,
      onchainJobId: row.ref.jobId,
      provider: provider as Address,
      cumulativeWei: String(row.priceWei * BigInt(count)),
    }
    const signature = signReceipt(this.key.secret, { chainId: body.chainId, escrow: row.ref.address, jobId: row.ref.jobId, provider: body.provider, cumulativeAmount: BigInt(body.cumulativeWei) })
    return { type: 'task.receipt', v: 1, body, signature }
  }

  closeJob (job: JobRecord): Promise<void> {
    let closing = this.closing.get(job.id)
    if (closing === undefined) {
      closing = this.finalize(job).finally(() => this.closing.delete(job.id))
      this.closing.set(job.id, closing)
    }
    return closing
  }

  async status (jobId: string): Promise<PaymentStatus | null> {
    const row = this.statements.get!.get(jobId)
    if (row === undefined) return null
    const price = BigInt(String(row.price_wei))
    const owed = [...this.countsOf(jobId).values()].reduce((sum, n) => sum + price * BigInt(n), 0n)
    let paid = BigInt(String(row.paid_wei))
    if (row.state !== 'finalized') {
      // Providers may have claimed with their receipts meanwhile.
      paid = await readEscrowJob(this.client, row.onchain_id as Hex).then(job => job.paid, () => paid)
    }
    return {
      state: row.state as PaymentStatus['state'],
      onchainJobId: String(row.onchain_id),
      escrowWei: String(row.budget_wei),
      owedWei: String(owed),
      paidWei: String(paid),
      gasUsed: String(row.gas_used),
      txCount: Number(row.tx_count),
      ...(row.error === null ? {} : { error: String(row.error) }),
    }
  }

  resume (jobs: (jobId: string) => JobRecord): void {
    for (const { job_id: jobId } of this.statements.unsettled!.all()) {
      const job = jobs(String(jobId))
      if (job.state !== 'running') void this.closeJob(job).catch(() => { /* recorded as finalize-failed */ })
    }
  }

  private async finalize (job: JobRecord): Promise<void> {
    const row = this.termsOf(job.id)
    if (row === undefined || this.statements.get!.get(job.id)?.state === 'finalized') return
    const owed = [...this.countsOf(job.id)].filter(([, n]) => n > 0).map(([provider, n]) => ({ provider: provider as Address, cumulativeAmount: row.priceWei * BigInt(n) }))
    const root = resultRoot(this.store.acceptedOutcomes(job.id).map(({ idx, outcomeHash }) => ({ idx, outcomeHash: `0x${outcomeHash}` as Hex })))
    try {
      const onChain = await readEscrowJob(this.client, row.ref.jobId)
      let gas = 0n
      if (!onChain.closed) gas = (await finalizeJob(this.client, row.ref.jobId, root, owed)).gasUsed
      const paid = (await readEscrowJob(this.client, row.ref.jobId)).paid
      transaction(this.db, () => this.statements.finalized!.run(String(paid), String(gas), job.id))
      this.events.emit({ type: 'job.settled', jobId: job.id, paidWei: String(paid), resultRoot: root })
    } catch (error) {
      this.statements.failed!.run((error as Error).message, job.id)
      this.events.emit({ type: 'job.settlement-failed', jobId: job.id, message: (error as Error).message })
      throw error
    }
  }

  /**
   * A job's escrow terms (undefined for a free job), read once: they are needed for every accepted
   * batch. Only asked for jobs that exist, so after their escrow was opened.
   */
  private termsOf (jobId: string): EscrowTerms | undefined {
    if (!this.terms.has(jobId)) {
      const row = this.statements.get!.get(jobId)
      this.terms.set(jobId, row === undefined
        ? null
        : {
            ref: { address: String(row.escrow) as Address, jobId: String(row.onchain_id) as Hex, budgetWei: String(row.budget_wei) },
            priceWei: BigInt(String(row.price_wei)),
          })
    }
    return this.terms.get(jobId) ?? undefined
  }

  private countsOf (jobId: string): Map<string, number> {
    let counts = this.accepted.get(jobId)
    if (counts === undefined) {
      counts = new Map([...this.store.acceptedCounts(jobId)].map(([address, n]) => [address.toLowerCase(), n]))
      this.accepted.set(jobId, counts)
    }
    return counts
  }
}
