import { depositToEscrow, finalizeJob, LedgerError, onchainJobId, openJobFromBalance, readBalances, readEscrowBalance, readEscrowJob, readEscrowShare, refundJob, refundWait, reservePayments, resultRoot, signReceipt } from '../ledger/index.ts'
import { depositDue } from './escrowTopUp.ts'
import { reservationsDue } from './reservationsDue.ts'
import { prepareStatements, transaction } from '../util/index.ts'
import { LandedWatch } from './landedWatch.ts'
import { isSettled } from './settlement.ts'
import type { EscrowRef, PaymentStatus, Settlement } from './settlement.ts'
import { UnknownJobError } from './jobStore.ts'
import type { JobStore } from './jobStore.ts'
import type { JobRecord } from './jobRecords.ts'
import type { RequesterEvent } from './requesterEvents.ts'
import type { ReservationRoom } from './reservationsDue.ts'
import type { NodeKey } from '../identity/index.ts'
import type { LedgerClient, SentTransaction } from '../ledger/index.ts'
import type { TaskReceipt } from '../net/index.ts'
import type { EventHub, PreparedStatements } from '../util/index.ts'
import type { DatabaseSync } from 'node:sqlite'
import type { Address, Hex } from 'viem'

// onchain_id holds the job's key in the escrow (keccak256 of the requester and its job id).
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

/** After a failed reservation, the next try (if no accepted result brings one sooner). */
const RESERVE_RETRY_MS = 2_000

/** After a failed try to open again an escrow a reorg dropped, the next one. */
const REOPEN_RETRY_MS = 5_000

/** A failed refund of what stayed reserved after a settlement is tried again this much later. */
const REFUND_RETRY_MS = 60_000
/** setTimeout's longest delay; a longer wait is taken in turns. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** A failed settlement (the RPC endpoint down, a fee spike) is tried again after 2 s, 4 s… up to a minute apart. */
const SETTLE_RETRY_FIRST_MS = 2_000
const SETTLE_RETRY_MAX_MS = 60_000

/** What never changes about a job's escrow once it is open. */
interface EscrowTerms {
  readonly ref: { address: Address, jobKey: Hex, budgetWei: string }
  readonly priceWei: bigint
  /** What the job can owe at most: every replica of every task. */
  readonly mostWei: bigint
}

const STATEMENTS = {
  insert: 'INSERT INTO escrows (job_id, onchain_id, escrow, price_wei, budget_wei, state, gas_used, tx_count) VALUES (?, ?, ?, ?, ?, \'open\', ?, 1)',
  get: 'SELECT * FROM escrows WHERE job_id = ?',
  unsettled: 'SELECT job_id, state FROM escrows WHERE state != \'finalized\'',
  finalized: 'UPDATE escrows SET state = ?, paid_wei = ?, gas_used = CAST(CAST(gas_used AS INTEGER) + ? AS TEXT), tx_count = tx_count + 1, error = NULL WHERE job_id = ?',
  refunded: 'UPDATE escrows SET state = \'finalized\', gas_used = CAST(CAST(gas_used AS INTEGER) + ? AS TEXT), tx_count = tx_count + ?, error = NULL WHERE job_id = ?',
  spent: 'UPDATE escrows SET gas_used = CAST(CAST(gas_used AS INTEGER) + ? AS TEXT), tx_count = tx_count + 1 WHERE job_id = ?',
  failed: 'UPDATE escrows SET state = \'finalize-failed\', error = ? WHERE job_id = ?',
}

/**
 * Pays for jobs through the JobEscrow contract. What a provider is owed is never stored on its
 * own: it is the job's price times the provider's accepted results, which the job store already
 * keeps transactionally, so a restarted requester signs exactly the receipts it signed before.
 * As results are accepted it reserves what providers are owed in the escrow, in batches, so that
 * their receipts are paid whatever happens (see reservationsDue); the final settlement pays the rest.
 * Jobs are opened from the requester's standing balance in the escrow, topped up by a deposit of
 * at least `topUpWei` when a job's budget is more than is free there (see depositDue).
 */
export class EscrowSettlement implements Settlement {
  private readonly client: LedgerClient
  private readonly key: NodeKey
  private readonly store: JobStore
  private readonly events: EventHub<RequesterEvent>
  private readonly statements: PreparedStatements<typeof STATEMENTS>
  private readonly db: DatabaseSync
  /** Accepted results per job and provider address, loaded from the job store on first use. */
  private readonly accepted = new Map<string, Map<string, number>>()
  private readonly closing = new Map<string, Promise<void>>()
  /** Openings and settlements mined and not yet final: one a reorg dropped is sent again. */
  private readonly openings: LandedWatch
  private readonly settlements: LandedWatch
  /** Failed settlements in a row, per job: the retry backs off with it. */
  private readonly settleFailures = new Map<string, number>()
  private readonly terms = new Map<string, EscrowTerms | null>()
  /** What the escrow holds for each provider (by lower-case address), per job key, as far as known. */
  private readonly reserved = new Map<string, Map<Address, bigint>>()
  /** The reservation transaction a job has in flight, and jobs that want another once it is done. */
  private readonly reserving = new Map<string, Promise<void>>()
  private readonly reserveAgain = new Set<string>()
  private readonly topUpWei: bigint
  /** Jobs open one after another, so two never both see the balance short and both deposit. */
  private opening: Promise<unknown> = Promise.resolve()

  constructor (init: { client: LedgerClient, key: NodeKey, db: DatabaseSync, store: JobStore, events: EventHub<RequesterEvent>, topUpWei: bigint }) {
    this.client = init.client
    this.topUpWei = init.topUpWei
    this.key = init.key
    this.store = init.store
    this.events = init.events
    this.db = init.db
    init.db.exec(SCHEMA)
    this.statements = prepareStatements(init.db, STATEMENTS)
    this.openings = new LandedWatch({ client: init.client, db: init.db, table: 'openings_landed', dropped: jobId => this.reopen(jobId) })
    this.settlements = new LandedWatch({
      client: init.client,
      db: init.db,
      table: 'settlements_landed',
      dropped: jobId => {
        const message = 'the settlement was dropped by a reorg: sending it again'
        this.statements.failed.run(message, jobId)
        this.events.emit({ type: 'job.settlement-failed', jobId, message })
        void this.settle(jobId).catch(() => { /* recorded as finalize-failed, and retried */ })
      },
    })
  }

  async openJob (job: { id: string, specHash: string, priceWei: string, budgetWei: string }): Promise<EscrowRef | null> {
    if (BigInt(job.priceWei) === 0n) return null
    const opened = this.opening.then(() => this.openFromBalance(job))
    this.opening = opened.catch(() => undefined)
    return opened
  }

  private async openFromBalance (job: { id: string, specHash: string, priceWei: string, budgetWei: string }): Promise<EscrowRef> {
    const sent = await this.openOnChain(job)
    this.statements.insert.run(job.id, sent.jobKey, this.client.info.escrow, job.priceWei, job.budgetWei, String(sent.gasUsed))
    this.openings.landed(job.id, sent)
    return { address: this.client.info.escrow, jobKey: sent.jobKey, budgetWei: job.budgetWei }
  }

  /** Opens the job's escrow from the standing balance, depositing first when too little of it is free. */
  private async openOnChain (job: { id: string, specHash: string, budgetWei: string }): Promise<SentTransaction & { jobKey: Hex }> {
    const budget = BigInt(job.budgetWei)
    const address = this.client.account.address
    const free = await readEscrowBalance(this.client, address).catch((error: unknown) => {
      throw new LedgerError(`could not read this node's standing balance in the escrow ${this.client.info.escrow} (it needs JobEscrow version 3 or later): ${(error as Error).message}`)
    })
    const deposit = depositDue(free, budget, this.topUpWei, (await readBalances(this.client, address)).con)
    if (deposit > 0n) {
      const sent = await depositToEscrow(this.client, deposit)
      this.events.emit({ type: 'escrow.deposited', jobId: job.id, amountWei: String(deposit), freeWei: String(free + deposit), gasUsed: String(sent.gasUsed) })
    }
    const now = (await this.client.public.getBlock()).timestamp
    return openJobFromBalance(this.client, { jobId: onchainJobId(address, job.id), specHash: job.specHash as Hex, budget, deadline: now + ESCROW_LIFETIME_S })
  }

  /**
   * A reorg dropped the job's opening: its providers stop working for it (the escrow they were
   * admitted on is gone), so it is opened again under the same key, from the balance as the chain
   * has it now. What was reserved went with the old opening and is reserved again; the receipts
   * signed meanwhile name the same key and stay good. Tried again until it is there, unless the
   * opening came back by itself (mined again) or the job was settled meanwhile.
   */
  private reopen (jobId: string): void {
    const terms = this.termsOf(jobId)
    if (terms === undefined || !this.db.isOpen) return
    const reopened = this.opening.then(async () => {
      if (this.stateOf(jobId) === 'finalized') return
      const onChain = await readEscrowJob(this.client, terms.ref.jobKey)
      this.reserved.delete(terms.ref.jobKey)
      if (onChain.requester.toLowerCase() === this.client.account.address.toLowerCase()) return
      const sent = await this.openOnChain({ id: jobId, specHash: this.store.job(jobId).specHash, budgetWei: terms.ref.budgetWei })
      this.statements.spent.run(String(sent.gasUsed), jobId)
      this.openings.landed(jobId, sent)
      this.events.emit({ type: 'escrow.reopened', jobId, jobKey: sent.jobKey, gasUsed: String(sent.gasUsed) })
    })
    this.opening = reopened.then(() => this.reserveIfDue(jobId), (error: unknown) => {
      this.events.emit({ type: 'job.reservation-failed', jobId, message: `the escrow's opening was dropped by a reorg, and opening it again failed: ${(error as Error).message}` })
      setTimeout(() => this.reopen(jobId), REOPEN_RETRY_MS).unref()
    })
  }

  escrowOf (jobId: string): EscrowRef | null {
    return this.termsOf(jobId)?.ref ?? null
  }

  resultsAccepted (job: JobRecord, provider: string, count: number): void {
    if (this.termsOf(job.id) === undefined) return
    // Loading the counts from the store (first use, e.g. after a restart) already includes these.
    if (this.accepted.has(job.id)) {
      const counts = this.countsOf(job.id)
      counts.set(provider.toLowerCase(), (counts.get(provider.toLowerCase()) ?? 0) + count)
    } else {
      this.countsOf(job.id)
    }
    this.reserveIfDue(job.id)
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
      jobKey: row.ref.jobKey,
      provider: provider as Address,
      cumulativeWei: String(row.priceWei * BigInt(count)),
    }
    const signature = signReceipt(this.key.secret, { chainId: body.chainId, escrow: row.ref.address, jobKey: row.ref.jobKey, provider: body.provider, cumulativeAmount: BigInt(body.cumulativeWei) })
    return { type: 'task.receipt', v: 2, body, signature }
  }

  closeJob (job: JobRecord): Promise<void> {
    return this.settle(job.id)
  }

  /** Settles a job's escrow, once at a time per job. */
  private settle (jobId: string): Promise<void> {
    let closing = this.closing.get(jobId)
    if (closing === undefined) {
      closing = this.finalize(jobId).finally(() => this.closing.delete(jobId))
      this.closing.set(jobId, closing)
    }
    return closing
  }

  async status (jobId: string): Promise<PaymentStatus | null> {
    const row = this.statements.get.get(jobId)
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
      jobKey: String(row.onchain_id),
      escrowWei: String(row.budget_wei),
      owedWei: String(owed),
      paidWei: String(paid),
      gasUsed: String(row.gas_used),
      txCount: Number(row.tx_count),
      ...(row.error === null ? {} : { error: String(row.error) }),
    }
  }

  resume (jobs: (jobId: string) => JobRecord): void {
    for (const row of this.statements.unsettled.all()) {
      const jobId = String(row.job_id)
      let job: JobRecord | undefined
      try {
        job = jobs(jobId)
      } catch (error) {
        if (!(error instanceof UnknownJobError)) throw error
      }
      // An escrow without a job: the node stopped between opening it and storing the job. Nobody
      // was offered the job, so nothing is owed: settling it at once gives the whole budget back.
      if (job === undefined) this.events.emit({ type: 'job.settlement-failed', jobId, message: 'an escrow was opened for a job that was never stored: settling it with nothing owed gives its budget back' })
      if (row.state === 'refund-pending') this.refundLater(jobId)
      else if (job?.state !== 'running') void this.settle(jobId).catch(() => { /* recorded as finalize-failed, and retried */ })
    }
  }

  /** Reserves what providers are owed once enough of it is not yet reserved: one transaction at a time per job. */
  private reserveIfDue (jobId: string): void {
    if (this.reserving.has(jobId)) {
      this.reserveAgain.add(jobId)
      return
    }
    const terms = this.termsOf(jobId)
    if (terms === undefined || this.closing.has(jobId) || isSettled(this.stateOf(jobId))) return
    const reserving = (async () => {
      const owed = new Map([...this.countsOf(jobId)].map(([provider, n]) => [provider as Address, terms.priceWei * BigInt(n)]))
      const due = reservationsDue(owed, await this.reservationsOf(terms, [...owed.keys()]), terms.priceWei, this.roomOf(terms, owed))
      if (due.length === 0) return
      const sent = await reservePayments(this.client, terms.ref.jobKey, due)
      const reserved = this.reserved.get(terms.ref.jobKey)!
      for (const { provider, amount } of due) reserved.set(provider, amount)
      this.statements.spent.run(String(sent.gasUsed), jobId)
    })().catch((error: unknown) => {
      this.events.emit({ type: 'job.reservation-failed', jobId, message: (error as Error).message })
      // Only a running job's providers wait for it; the final settlement pays an ended job's.
      setTimeout(() => { if (this.store.job(jobId).state === 'running') this.reserveIfDue(jobId) }, RESERVE_RETRY_MS).unref()
    }).finally(() => {
      this.reserving.delete(jobId)
      if (this.reserveAgain.delete(jobId)) this.reserveIfDue(jobId)
    })
    this.reserving.set(jobId, reserving)
  }

  /** The job's payment state as stored; undefined for a job without an escrow. */
  private stateOf (jobId: string): PaymentStatus['state'] | undefined {
    return this.statements.get.get(jobId)?.state as PaymentStatus['state'] | undefined
  }

  /** The budget beyond the most the job can owe, and what its results not yet accepted can be owed. */
  private roomOf (terms: EscrowTerms, owed: ReadonlyMap<Address, bigint>): ReservationRoom {
    const most = terms.mostWei
    const owedNow = [...owed.values()].reduce((sum, amount) => sum + amount, 0n)
    const bound = most > owedNow ? most : owedNow
    return { headroomWei: BigInt(terms.ref.budgetWei) - bound, remainingWei: bound - owedNow }
  }

  /** What the escrow holds for `providers`: read from the chain once per provider (it may predate a restart), then kept. */
  private async reservationsOf (terms: EscrowTerms, providers: readonly Address[]): Promise<Map<Address, bigint>> {
    let reserved = this.reserved.get(terms.ref.jobKey)
    if (reserved === undefined) {
      reserved = new Map()
      this.reserved.set(terms.ref.jobKey, reserved)
    }
    for (const provider of providers) {
      if (!reserved.has(provider)) reserved.set(provider, (await readEscrowShare(this.client, terms.ref.jobKey, provider)).reserved)
    }
    return reserved
  }

  private async finalize (jobId: string): Promise<void> {
    const row = this.termsOf(jobId)
    if (row === undefined || isSettled(this.stateOf(jobId))) return
    // A reservation still in flight would land after the settlement and be refused.
    await this.reserving.get(jobId)
    const owed = [...this.countsOf(jobId)].filter(([, n]) => n > 0).map(([provider, n]) => ({ provider: provider as Address, cumulativeAmount: row.priceWei * BigInt(n) }))
    const root = await resultRoot(this.store.acceptedOutcomes(jobId))
    try {
      const onChain = await readEscrowJob(this.client, row.ref.jobKey)
      let gas = 0n
      if (!onChain.closed && !onChain.finalized) {
        const sent = await finalizeJob(this.client, row.ref.jobKey, root, owed)
        gas = sent.gasUsed
        this.settlements.landed(jobId, sent)
      }
      const settled = await readEscrowJob(this.client, row.ref.jobKey)
      // Pay reserved ahead for a provider that stopped, or did fewer tasks, stays claimable for the
      // escrow's grace period (the contract cannot tell it from a receipt's), then comes back.
      const leftOver = !settled.closed && settled.paid < settled.budget
      transaction(this.db, () => this.statements.finalized.run(leftOver ? 'refund-pending' : 'finalized', String(settled.paid), String(gas), jobId))
      this.settleFailures.delete(jobId)
      this.events.emit({ type: 'job.settled', jobId: jobId, paidWei: String(settled.paid), resultRoot: root })
      if (leftOver) this.refundLater(jobId)
    } catch (error) {
      this.statements.failed.run((error as Error).message, jobId)
      this.events.emit({ type: 'job.settlement-failed', jobId: jobId, message: (error as Error).message })
      this.settleLater(jobId)
      throw error
    }
  }

  /** Refunds what stayed reserved after the job's settlement once the claim window is over (by the chain's clock), or later. */
  private refundLater (jobId: string, delayMs = 0): void {
    setTimeout(() => {
      if (this.db.isOpen) void this.refund(jobId)
    }, Math.min(delayMs, MAX_TIMER_MS)).unref()
  }

  private async refund (jobId: string): Promise<void> {
    const { ref } = this.termsOf(jobId)!
    try {
      const job = await readEscrowJob(this.client, ref.jobKey)
      let sent: SentTransaction | undefined
      if (!job.closed) {
        const wait = await refundWait(this.client, ref.jobKey)
        if (wait > 0n) return this.refundLater(jobId, Number(wait) * 1000)
        sent = await refundJob(this.client, ref.jobKey)
      }
      this.statements.refunded.run(String(sent?.gasUsed ?? 0n), sent === undefined ? 0 : 1, jobId)
      this.events.emit({ type: 'escrow.refunded', jobId, refundedWei: String(job.budget - job.paid), gasUsed: String(sent?.gasUsed ?? 0n) })
    } catch (error) {
      this.events.emit({ type: 'job.settlement-failed', jobId, message: `refunding what stayed reserved after the settlement: ${(error as Error).message}` })
      this.refundLater(jobId, REFUND_RETRY_MS)
    }
  }

  /** Tries a failed settlement again, backing off, until it is done or the node stops (a restart resumes it). */
  private settleLater (jobId: string): void {
    const failures = (this.settleFailures.get(jobId) ?? 0) + 1
    this.settleFailures.set(jobId, failures)
    const delay = Math.min(SETTLE_RETRY_MAX_MS, SETTLE_RETRY_FIRST_MS * 2 ** (failures - 1))
    setTimeout(() => {
      if (this.db.isOpen) void this.settle(jobId).catch(() => { /* recorded as finalize-failed, and retried */ })
    }, delay).unref()
  }

  /**
   * A job's escrow terms (undefined for a free job), read once: they are needed for every accepted
   * batch. Only asked for jobs that exist, so after their escrow was opened.
   */
  private termsOf (jobId: string): EscrowTerms | undefined {
    if (!this.terms.has(jobId)) {
      const row = this.statements.get.get(jobId)
      this.terms.set(jobId, row === undefined
        ? null
        : {
            ref: { address: String(row.escrow) as Address, jobKey: String(row.onchain_id) as Hex, budgetWei: String(row.budget_wei) },
            priceWei: BigInt(String(row.price_wei)),
            mostWei: this.mostOf(jobId, BigInt(String(row.price_wei)), BigInt(String(row.budget_wei))),
          })
    }
    return this.terms.get(jobId) ?? undefined
  }

  /** Every replica of every task at the job's price; the whole budget for an escrow whose job was never stored. */
  private mostOf (jobId: string, priceWei: bigint, budgetWei: bigint): bigint {
    try {
      const job = this.store.job(jobId)
      return priceWei * BigInt(job.taskCount) * BigInt(job.spec.replication)
    } catch (error) {
      if (error instanceof UnknownJobError) return budgetWei
      throw error
    }
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
