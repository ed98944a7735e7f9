import { depositToEscrow, onchainJobId, readBalances, readEscrowBalance, readLine, reserveLines, resultRoot, settleJob, signReceipt } from '../ledger/index.ts'
import { depositDue } from './escrowTopUp.ts'
import { drawnAtSettlement, lineReservationsDue, reservesAtSettlement } from './reservationsDue.ts'
import { prepareStatements, transaction } from '../util/index.ts'
import { LandedWatch } from './landedWatch.ts'
import { releaseLines } from './releaseLines.ts'
import { isSettled } from './settlement.ts'
import type { EscrowRef, LineRelease, PaymentStatus, Settlement } from './settlement.ts'
import { UnknownJobError } from './jobStore.ts'
import type { JobStore } from './jobStore.ts'
import type { JobRecord } from './jobRecords.ts'
import type { RequesterEvent } from './requesterEvents.ts'
import type { NodeKey } from '../identity/index.ts'
import type { LedgerClient } from '../ledger/index.ts'
import type { TaskReceipt } from '../net/index.ts'
import type { EventHub, PreparedStatements } from '../util/index.ts'
import type { DatabaseSync } from 'node:sqlite'
import type { Address, Hex } from 'viem'

// onchain_id holds the job's id in the escrow's JobSettled event (see onchainJobId); deployment,
// which deployment of the escrow paid it (see escrowDeployment).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS escrows (
  job_id TEXT PRIMARY KEY,
  onchain_id TEXT NOT NULL,
  escrow TEXT NOT NULL,
  deployment TEXT NOT NULL DEFAULT '',
  price_wei TEXT NOT NULL,
  budget_wei TEXT NOT NULL,
  state TEXT NOT NULL,
  paid_wei TEXT NOT NULL DEFAULT '0',
  gas_used TEXT NOT NULL DEFAULT '0',
  tx_count INTEGER NOT NULL DEFAULT 0,
  error TEXT
);
`

/** After a failed reservation, the next try (if no accepted result brings one sooner). */
const RESERVE_RETRY_MS = 2_000

/** A failed settlement (the RPC endpoint down, a fee spike) is tried again after 2 s, 4 s… up to a minute apart. */
const SETTLE_RETRY_FIRST_MS = 2_000
const SETTLE_RETRY_MAX_MS = 60_000

/** What never changes about a paid job. */
interface PaidTerms {
  readonly ref: EscrowRef
  readonly priceWei: bigint
  /** What the job can owe at most: every replica of every task. */
  readonly mostWei: bigint
}

const STATEMENTS = {
  insert: 'INSERT INTO escrows (job_id, onchain_id, escrow, deployment, price_wei, budget_wei, state) VALUES (?, ?, ?, ?, ?, ?, \'open\')',
  get: 'SELECT * FROM escrows WHERE job_id = ?',
  paidJobs: 'SELECT job_id FROM escrows WHERE deployment = ?',
  unsettled: 'SELECT job_id FROM escrows WHERE deployment = ? AND state != \'finalized\'',
  /** Jobs of an escrow deployment that is gone (a dev chain started afresh): they can no longer be settled. */
  orphaned: 'UPDATE escrows SET state = \'finalize-failed\', error = ? WHERE deployment != ? AND state != \'finalized\'',
  finalized: 'UPDATE escrows SET state = \'finalized\', paid_wei = ?, gas_used = CAST(CAST(gas_used AS INTEGER) + ? AS TEXT), tx_count = tx_count + ?, error = NULL WHERE job_id = ?',
  spent: 'UPDATE escrows SET gas_used = CAST(CAST(gas_used AS INTEGER) + ? AS TEXT), tx_count = tx_count + 1 WHERE job_id = ?',
  failed: 'UPDATE escrows SET state = \'finalize-failed\', error = ? WHERE job_id = ?',
}

/**
 * Pays for jobs through the JobEscrow contract's payment lines: one line from this requester to
 * each provider, shared by all the jobs the provider does for it. What a provider is owed is never
 * stored on its own: on its line it is the sum, over every paid job, of the job's price times the
 * provider's accepted results, which the job store already keeps transactionally, so a restarted
 * requester signs exactly the receipts it signed before. A job opens with no transaction: its
 * budget only has to be free in the requester's standing balance (topped up by a deposit of at
 * least `topUpWei` when it is not, see depositDue). As results are accepted it raises the lines'
 * reservations in batches, so that their receipts are paid whatever happens (see reservationsDue);
 * pay reserved ahead and not earned stays on the line for the provider's next job. The job's
 * settlement pays each of its providers what it is owed on its line.
 */
export class EscrowSettlement implements Settlement {
  private readonly client: LedgerClient
  private readonly key: NodeKey
  private readonly store: JobStore
  private readonly events: EventHub<RequesterEvent>
  private readonly statements: PreparedStatements<typeof STATEMENTS>
  private readonly db: DatabaseSync
  /** Accepted results per paid job and provider address, loaded from the job store on first use. */
  private readonly accepted = new Map<string, Map<string, number>>()
  /** What each provider (by lower-case address) is owed on its line over all paid jobs; loaded on first use. */
  private owedOnLines: Map<string, bigint> | undefined
  /** What each line's reservation is, as far as known (read from the chain once, then kept). */
  private readonly reserved = new Map<string, bigint>()
  private readonly closing = new Map<string, Promise<void>>()
  /** Settlements and reservations mined and not yet final: one a reorg dropped is sent again. */
  private readonly settlements: LandedWatch
  private readonly reservations: LandedWatch
  /** Failed settlements in a row, per job: the retry backs off with it. */
  private readonly settleFailures = new Map<string, number>()
  private readonly terms = new Map<string, PaidTerms | null>()
  /** Reservations go one transaction at a time (lines are shared by jobs); jobs that want one meanwhile wait here. */
  private reserving: Promise<void> | undefined
  private readonly reserveAgain = new Set<string>()
  private readonly topUpWei: bigint
  /** The escrow deployment this node pays through now (see escrowDeployment): lines are counted within it. */
  private readonly deployment: string
  /** Deposits one after another, so that two jobs never both see the balance short and both deposit. */
  private depositing: Promise<unknown> = Promise.resolve()

  constructor (init: { client: LedgerClient, key: NodeKey, db: DatabaseSync, store: JobStore, events: EventHub<RequesterEvent>, topUpWei: bigint, deployment: string }) {
    this.client = init.client
    this.deployment = init.deployment
    this.topUpWei = init.topUpWei
    this.key = init.key
    this.store = init.store
    this.events = init.events
    this.db = init.db
    init.db.exec(SCHEMA)
    // A database from before payment lines has no deployment column: its jobs belong to none.
    if (init.db.prepare('SELECT 1 FROM pragma_table_info(\'escrows\') WHERE name = \'deployment\'').get() === undefined) {
      init.db.exec('ALTER TABLE escrows ADD COLUMN deployment TEXT NOT NULL DEFAULT \'\'')
    }
    this.statements = prepareStatements(init.db, STATEMENTS)
    this.statements.orphaned.run('the escrow deployment that was to pay it is gone (a dev chain that started afresh, or an escrow before payment lines)', init.deployment)
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
    this.reservations = new LandedWatch({
      client: init.client,
      db: init.db,
      table: 'reservations_landed',
      dropped: jobId => {
        // What the lines hold is read again, and reserved again where the chain lost it.
        this.reserved.clear()
        this.events.emit({ type: 'job.reservation-failed', jobId, message: 'a reservation was dropped by a reorg: reserving again' })
        this.reserveIfDue(jobId)
      },
    })
  }

  /** A paid job needs its budget free in the standing balance: deposited first when it is not. */
  async openJob (job: { id: string, specHash: string, priceWei: string, budgetWei: string }): Promise<EscrowRef | null> {
    if (BigInt(job.priceWei) === 0n) return null
    await this.ensureFree(BigInt(job.budgetWei), job.id)
    const ref = { address: this.client.info.escrow, jobKey: onchainJobId(this.client.account.address, job.id), budgetWei: job.budgetWei }
    this.statements.insert.run(job.id, ref.jobKey, ref.address, this.deployment, job.priceWei, job.budgetWei)
    return ref
  }

  /** Deposits when less than `wei` of the standing balance is free (one deposit at a time). */
  private ensureFree (wei: bigint, jobId: string): Promise<void> {
    const done = this.depositing.then(async () => {
      const address = this.client.account.address
      const free = await readEscrowBalance(this.client, address)
      const deposit = depositDue(free, wei, this.topUpWei, (await readBalances(this.client, address)).con)
      if (deposit === 0n) return
      const sent = await depositToEscrow(this.client, deposit)
      this.events.emit({ type: 'escrow.deposited', jobId, amountWei: String(deposit), freeWei: String(free + deposit), gasUsed: String(sent.gasUsed) })
    })
    this.depositing = done.catch(() => undefined)
    return done
  }

  escrowOf (jobId: string): EscrowRef | null {
    return this.termsOf(jobId)?.ref ?? null
  }

  resultsAccepted (job: JobRecord, provider: string, count: number): void {
    const terms = this.termsOf(job.id)
    if (terms === undefined) return
    // Counts loaded from the store now (first use, e.g. after a restart) already include these.
    const loaded = this.accepted.has(job.id)
    const counts = this.countsOf(job.id)
    if (loaded) {
      const address = provider.toLowerCase()
      counts.set(address, (counts.get(address) ?? 0) + count)
      this.owedOnLines?.set(address, (this.owedOnLines.get(address) ?? 0n) + terms.priceWei * BigInt(count))
    }
    this.reserveIfDue(job.id)
  }

  receipt (job: JobRecord, agreementId: string, provider: string): TaskReceipt | undefined {
    const terms = this.termsOf(job.id)
    if (terms === undefined || (this.countsOf(job.id).get(provider.toLowerCase()) ?? 0) === 0) return undefined
    const body = {
      agreementId,
      jobId: job.id,
      chainId: this.client.info.chainId,
      escrow: terms.ref.address as Address,
      requester: this.client.account.address,
      provider: provider as Address,
      cumulativeWei: String(this.lineOwed(provider.toLowerCase())),
    }
    const signature = signReceipt(this.key.secret, { chainId: body.chainId, escrow: body.escrow, requester: body.requester, provider: body.provider, cumulativeAmount: BigInt(body.cumulativeWei) })
    return { type: 'task.receipt', v: 3, body, signature }
  }

  closeJob (job: JobRecord): Promise<void> {
    return this.settle(job.id)
  }

  /** Settles a job, once at a time per job. */
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
    return {
      state: row.state as PaymentStatus['state'],
      jobKey: String(row.onchain_id),
      escrowWei: String(row.budget_wei),
      owedWei: String(this.jobOwed(jobId, BigInt(String(row.price_wei)))),
      paidWei: String(row.paid_wei),
      gasUsed: String(row.gas_used),
      txCount: Number(row.tx_count),
      ...(row.error === null ? {} : { error: String(row.error) }),
    }
  }

  resume (jobs: (jobId: string) => JobRecord): void {
    for (const row of this.statements.unsettled.all(this.deployment)) {
      const jobId = String(row.job_id)
      let job: JobRecord | undefined
      try {
        job = jobs(jobId)
      } catch (error) {
        if (!(error instanceof UnknownJobError)) throw error
      }
      // A paid job that was never stored: the node stopped between checking its balance and storing
      // the job. Nobody was offered it and nothing was locked for it, so it is done with nothing owed.
      if (job === undefined) this.statements.finalized.run('0', '0', 0, jobId)
      else if (job.state !== 'running') void this.settle(jobId).catch(() => { /* recorded as finalize-failed, and retried */ })
    }
  }

  async releaseLines (): Promise<LineRelease[]> {
    const inUse = new Set<string>()
    for (const row of this.statements.unsettled.all(this.deployment)) {
      const jobId = String(row.job_id)
      if (this.isRunning(jobId)) for (const provider of this.countsOf(jobId).keys()) inUse.add(provider)
    }
    const released = await releaseLines(this.client, this.owedLines().keys(), inUse)
    // What a release took back is read from the chain again when next needed.
    for (const line of released) if (line.state === 'released') this.reserved.delete(line.provider)
    return released
  }

  /** Reserves on the lines of a job's providers once enough of what they are owed is not yet reserved: one transaction at a time. */
  private reserveIfDue (jobId: string): void {
    if (this.reserving !== undefined) {
      this.reserveAgain.add(jobId)
      return
    }
    const terms = this.termsOf(jobId)
    if (terms === undefined || this.closing.has(jobId) || isSettled(this.stateOf(jobId))) return
    this.reserving = (async () => {
      const due = await this.reservationsOf(jobId, terms)
      if (due.length === 0) return
      await this.ensureFree(due.reduce((sum, { provider, amount }) => sum + amount - (this.reserved.get(provider.toLowerCase()) ?? 0n), 0n), jobId)
      const sent = await reserveLines(this.client, due)
      for (const { provider, amount } of due) this.reserved.set(provider.toLowerCase(), amount)
      this.statements.spent.run(String(sent.gasUsed), jobId)
      this.reservations.landed(jobId, sent)
    })().catch((error: unknown) => {
      this.events.emit({ type: 'job.reservation-failed', jobId, message: (error as Error).message })
      // Only a running job's providers wait for it; the settlement pays an ended job's.
      setTimeout(() => { if (this.db.isOpen && this.isRunning(jobId)) this.reserveIfDue(jobId) }, RESERVE_RETRY_MS).unref()
    }).finally(() => {
      this.reserving = undefined
      const next = this.reserveAgain.values().next()
      if (!next.done) {
        this.reserveAgain.delete(next.value)
        this.reserveIfDue(next.value)
      }
    })
  }

  /** What the job owes each of its providers, and what their lines owe and have reserved in all. */
  private async linesOf (jobId: string, terms: PaidTerms): Promise<{ earned: Map<Address, bigint>, owed: Map<Address, bigint>, reserved: Map<Address, bigint> }> {
    const earned = new Map([...this.countsOf(jobId)].map(([provider, n]) => [provider as Address, terms.priceWei * BigInt(n)]))
    const owed = new Map<Address, bigint>()
    const reserved = new Map<Address, bigint>()
    for (const provider of earned.keys()) {
      owed.set(provider, this.lineOwed(provider))
      reserved.set(provider, await this.reservedOn(provider))
    }
    return { earned, owed, reserved }
  }

  /** The reservations the job's providers' lines need now (see lineReservationsDue). */
  private async reservationsOf (jobId: string, terms: PaidTerms): Promise<Array<{ provider: Address, amount: bigint }>> {
    const { earned, owed, reserved } = await this.linesOf(jobId, terms)
    const earnedNow = [...earned.values()].reduce((sum, amount) => sum + amount, 0n)
    const bound = terms.mostWei > earnedNow ? terms.mostWei : earnedNow
    const budget = BigInt(terms.ref.budgetWei)
    return lineReservationsDue(earned, owed, reserved, terms.priceWei, { headroomWei: budget > earnedNow ? budget - earnedNow : 0n, remainingWei: bound - earnedNow })
  }

  /** What the line to `provider` has reserved: read from the chain once (it may predate a restart), then kept. */
  private async reservedOn (provider: Address): Promise<bigint> {
    const address = provider.toLowerCase()
    let reserved = this.reserved.get(address)
    if (reserved === undefined) {
      reserved = (await readLine({ ...this.client, confirmations: 0 }, this.client.account.address, provider)).reserved
      this.reserved.set(address, reserved)
    }
    return reserved
  }

  /** Whether a paid job is still running (false for one that was never stored). */
  private isRunning (jobId: string): boolean {
    try {
      return this.store.job(jobId).state === 'running'
    } catch (error) {
      if (error instanceof UnknownJobError) return false
      throw error
    }
  }

  /** The job's payment state as stored; undefined for a job that pays nothing. */
  private stateOf (jobId: string): PaymentStatus['state'] | undefined {
    return this.statements.get.get(jobId)?.state as PaymentStatus['state'] | undefined
  }

  private async finalize (jobId: string): Promise<void> {
    const terms = this.termsOf(jobId)
    if (terms === undefined || isSettled(this.stateOf(jobId))) return
    // A reservation in flight is waited for: the settlement then draws on the balance for less.
    await this.reserving
    const root = await resultRoot(this.store.acceptedOutcomes(jobId))
    try {
      const { earned, owed, reserved } = await this.linesOf(jobId, terms)
      await this.ensureFree(drawnAtSettlement(owed, reserved), jobId)
      const free = await readEscrowBalance(this.client, this.client.account.address)
      const reserves = reservesAtSettlement(earned, owed, reserved, terms.priceWei, free)
      const sent = await settleJob(this.client, terms.ref.jobKey as Hex, root, [...owed].map(([provider, cumulativeAmount]) => ({ provider, cumulativeAmount, reserveTo: reserves.get(provider)! })))
      for (const [provider, amount] of reserves) this.reserved.set(provider, amount)
      const paid = this.jobOwed(jobId, terms.priceWei)
      transaction(this.db, () => this.statements.finalized.run(String(paid), String(sent.gasUsed), 1, jobId))
      this.settlements.landed(jobId, sent)
      this.settleFailures.delete(jobId)
      this.events.emit({ type: 'job.settled', jobId, paidWei: String(paid), resultRoot: root })
    } catch (error) {
      this.statements.failed.run((error as Error).message, jobId)
      this.events.emit({ type: 'job.settlement-failed', jobId, message: (error as Error).message })
      this.settleLater(jobId)
      throw error
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
   * A paid job's terms (undefined for a free job, or one of a gone deployment), read once: they are
   * needed for every accepted batch. Only asked for jobs that exist, so after their row was stored.
   */
  private termsOf (jobId: string): PaidTerms | undefined {
    if (!this.terms.has(jobId)) {
      const row = this.statements.get.get(jobId)
      // A job of an escrow deployment that is gone is paid no more: nothing on this chain is its.
      this.terms.set(jobId, row === undefined || row.deployment !== this.deployment
        ? null
        : {
            ref: { address: String(row.escrow) as Address, jobKey: String(row.onchain_id), budgetWei: String(row.budget_wei) },
            priceWei: BigInt(String(row.price_wei)),
            mostWei: this.mostOf(jobId, BigInt(String(row.price_wei)), BigInt(String(row.budget_wei))),
          })
    }
    return this.terms.get(jobId) ?? undefined
  }

  /** Every replica of every task at the job's price; the whole budget for a paid job that was never stored. */
  private mostOf (jobId: string, priceWei: bigint, budgetWei: bigint): bigint {
    try {
      const job = this.store.job(jobId)
      return priceWei * BigInt(job.taskCount) * BigInt(job.spec.replication)
    } catch (error) {
      if (error instanceof UnknownJobError) return budgetWei
      throw error
    }
  }

  /** What one job owes all its providers together. */
  private jobOwed (jobId: string, priceWei: bigint): bigint {
    return [...this.countsOf(jobId).values()].reduce((sum, n) => sum + priceWei * BigInt(n), 0n)
  }

  /** What `provider` is owed on its line, over every paid job this requester has. */
  private lineOwed (provider: string): bigint {
    return this.owedLines().get(provider.toLowerCase()) ?? 0n
  }

  /** What each line owes (by lower-case provider address), summed over the paid jobs on first use. */
  private owedLines (): Map<string, bigint> {
    if (this.owedOnLines === undefined) {
      this.owedOnLines = new Map()
      for (const row of this.statements.paidJobs.all(this.deployment)) {
        const jobId = String(row.job_id)
        const loaded = this.accepted.get(jobId)
        // A job whose counts load now adds them itself (countsOf).
        if (loaded === undefined) this.countsOf(jobId)
        else this.addToLines(jobId, loaded)
      }
    }
    return this.owedOnLines
  }

  /** Adds a paid job's counts to what its providers' lines owe (a job of a gone deployment owes nothing on them). */
  private addToLines (jobId: string, counts: ReadonlyMap<string, number>): void {
    const terms = this.termsOf(jobId)
    if (terms === undefined) return
    for (const [address, n] of counts) this.owedOnLines!.set(address, (this.owedOnLines!.get(address) ?? 0n) + terms.priceWei * BigInt(n))
  }

  /** A paid job's accepted results per provider (lower case), loaded from the store on first use and added to the lines then. */
  private countsOf (jobId: string): Map<string, number> {
    let counts = this.accepted.get(jobId)
    if (counts === undefined) {
      counts = new Map([...this.store.acceptedCounts(jobId)].map(([address, n]) => [address.toLowerCase(), n]))
      this.accepted.set(jobId, counts)
      if (this.owedOnLines !== undefined) this.addToLines(jobId, counts)
    }
    return counts
  }
}
