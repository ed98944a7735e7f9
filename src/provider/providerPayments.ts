import { addressOfPeer, publicKeyOfPeer } from '../identity/index.ts'
import { claimPayment, formatCon, readEscrowJob, readJobSpecHash, readPaidTo, verifyReceipt } from '../ledger/index.ts'
import type { NodeKey } from '../identity/index.ts'
import type { LedgerClient } from '../ledger/index.ts'
import type { AdmissionDecision, ProviderEvent } from './providerContext.ts'
import type { AgreementProposalBody, TaskReceipt } from '../net/index.ts'
import type { EventHub } from '../util/index.ts'
import type { PeerId } from '@libp2p/interface'
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import type { Address, Hex } from 'viem'

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

export interface PaymentPolicy {
  /** The least a job must pay per task ("0": free jobs are welcome too). */
  readonly priceWei: bigint
  /** Claim during a job once this much is owed and unclaimed. */
  readonly claimThresholdWei: bigint
  /** After a job's session ends, how long to leave the requester to settle before claiming. */
  readonly claimDelayMs: number
}

/** One job's best receipt, as this provider holds it. */
export interface HeldReceipt {
  readonly onchainJobId: Hex
  readonly jobId: string
  readonly requester: Address
  readonly cumulativeWei: bigint
  readonly paidWei: bigint
  /** open: not yet paid in full; settled: paid in full; short: the job closed paying less than the receipt says. */
  readonly state: 'open' | 'settled' | 'short'
}

interface Terms {
  readonly budgetWei: bigint
  readonly priceWei: bigint
}

/**
 * The provider's side of payments: before taking a paid job it checks on chain that the escrow
 * exists, belongs to the requester, matches the job's spec hash and holds enough; it keeps the
 * requester's receipts in SQLite (only the highest per job matters); and it claims them, or sees
 * that the requester's final settlement paid them, when the job ends or enough is unclaimed.
 */
export class ProviderPayments {
  private readonly client: LedgerClient
  private readonly key: NodeKey
  private readonly policy: PaymentPolicy
  private readonly events: EventHub<ProviderEvent>
  private readonly statements: Record<string, StatementSync>
  private readonly terms = new Map<string, Terms>()
  private readonly settling = new Map<string, Promise<void>>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private stopped = false

  constructor (init: { client: LedgerClient, key: NodeKey, db: DatabaseSync, policy: PaymentPolicy, events: EventHub<ProviderEvent> }) {
    this.client = init.client
    this.key = init.key
    this.policy = init.policy
    this.events = init.events
    init.db.exec(SCHEMA)
    this.statements = {
      get: init.db.prepare('SELECT * FROM receipts WHERE chain_id = ? AND escrow = ? AND onchain_id = ?'),
      upsert: init.db.prepare(`INSERT INTO receipts (onchain_id, escrow, chain_id, job_id, requester, cumulative_wei, signature, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)
        ON CONFLICT (chain_id, escrow, onchain_id) DO UPDATE SET cumulative_wei = excluded.cumulative_wei, signature = excluded.signature, state = 'open', updated_at = excluded.updated_at`),
      paid: init.db.prepare('UPDATE receipts SET paid_wei = ?, state = ?, updated_at = ? WHERE chain_id = ? AND escrow = ? AND onchain_id = ?'),
      open: init.db.prepare('SELECT onchain_id FROM receipts WHERE chain_id = ? AND escrow = ? AND state = \'open\''),
      all: init.db.prepare('SELECT * FROM receipts WHERE chain_id = ? AND escrow = ? ORDER BY updated_at DESC LIMIT ?'),
    }
  }

  /** Receipts not yet paid in full (e.g. from before a restart) are settled after the claim delay. */
  start (): void {
    for (const row of this.statements.open!.all(this.client.info.chainId, this.client.info.escrow)) this.settleLater(String(row.onchain_id) as Hex)
  }

  /** Decides whether the job of `proposal`, from `requester`, pays enough and is paid for. */
  async admit (proposal: AgreementProposalBody, requester: PeerId): Promise<AdmissionDecision | undefined> {
    const price = BigInt(proposal.pricePerTaskWei)
    if (price < this.policy.priceWei) return { accept: false, reason: `this provider charges ${formatCon(this.policy.priceWei)} per task; the job pays ${formatCon(price)}` }
    if (price === 0n) return undefined
    if (addressOfPeer(requester)?.toLowerCase() !== proposal.requester.toLowerCase()) return { accept: false, reason: `the proposal names requester ${proposal.requester}, which is not the key of ${requester.toString()}` }
    const escrow = proposal.escrow
    if (escrow === null) return { accept: false, reason: 'a paid job needs an escrow' }
    if (escrow.address.toLowerCase() !== this.client.info.escrow.toLowerCase()) return { accept: false, reason: `escrow ${escrow.address} is not the one this provider trusts (${this.client.info.escrow})` }
    const jobId = escrow.jobId as Hex
    try {
      const [job, specHash] = await Promise.all([readEscrowJob(this.client, jobId), readJobSpecHash(this.client, jobId)])
      const now = BigInt(Math.floor(Date.now() / 1000))
      if (job.requester.toLowerCase() !== proposal.requester.toLowerCase()) return { accept: false, reason: 'the escrow holds no such job of this requester' }
      if (specHash?.toLowerCase() !== proposal.specHash.toLowerCase()) return { accept: false, reason: 'the escrow was opened for another job spec' }
      if (job.closed) return { accept: false, reason: 'the job\'s escrow is closed' }
      if (job.deadline <= now + 60n) return { accept: false, reason: 'the job\'s escrow is past its deadline' }
      if (job.remaining < price) return { accept: false, reason: `the escrow has ${formatCon(job.remaining)} left, less than one task's price` }
      this.terms.set(jobId, { budgetWei: job.budget, priceWei: price })
    } catch (error) {
      return { accept: false, reason: `could not check the escrow: ${(error as Error).message}` }
    }
    return undefined
  }

  /**
   * Whether one more task of a paid job could still be paid: what this provider was promised plus
   * what it runs must stay within the job's budget. The requester never issues more, so this only
   * stops work a misbehaving requester would not pay.
   */
  canTakeTask (proposal: AgreementProposalBody, running: number): boolean {
    if (proposal.escrow === null) return true
    const terms = this.terms.get(proposal.escrow.jobId)
    if (terms === undefined) return false
    const held = this.held(proposal.escrow.jobId as Hex)?.cumulativeWei ?? 0n
    return held + terms.priceWei * BigInt(running + 1) <= terms.budgetWei
  }

  /** A receipt arrived: checked against the requester's key, kept if it raises the total. */
  accept (receipt: TaskReceipt, proposal: AgreementProposalBody, requester: PeerId): void {
    const { body } = receipt
    const publicKey = publicKeyOfPeer(requester)
    if (proposal.escrow === null || body.agreementId !== proposal.agreementId || body.jobId !== proposal.jobId || body.chainId !== this.client.info.chainId ||
      body.escrow.toLowerCase() !== proposal.escrow.address.toLowerCase() || body.onchainJobId.toLowerCase() !== proposal.escrow.jobId.toLowerCase() ||
      body.provider.toLowerCase() !== this.key.address.toLowerCase()) {
      this.events.emit({ type: 'receipt.rejected', jobId: body.jobId, reason: 'the receipt is not for this agreement' })
      return
    }
    const jobId = body.onchainJobId as Hex
    const cumulative = BigInt(body.cumulativeWei)
    const signed = publicKey !== undefined && verifyReceipt(publicKey, { chainId: body.chainId, escrow: body.escrow as Address, jobId, provider: this.key.address, cumulativeAmount: cumulative }, receipt.signature as Hex)
    if (!signed) {
      this.events.emit({ type: 'receipt.rejected', jobId: body.jobId, reason: 'the receipt is not signed by the requester' })
      return
    }
    const held = this.held(jobId)
    if (held !== undefined && held.cumulativeWei >= cumulative) return
    this.statements.upsert!.run(jobId, this.client.info.escrow, this.client.info.chainId, body.jobId, proposal.requester, String(cumulative), receipt.signature, Date.now())
    this.events.emit({ type: 'receipt.received', jobId: body.jobId, cumulativeWei: String(cumulative) })
    if (cumulative - (held?.paidWei ?? 0n) >= this.policy.claimThresholdWei) void this.settle(jobId)
  }

  /** The job's session ended: settle once the requester has had time to finalise. */
  sessionEnded (proposal: AgreementProposalBody): void {
    if (proposal.escrow !== null && this.held(proposal.escrow.jobId as Hex) !== undefined) this.settleLater(proposal.escrow.jobId as Hex)
  }

  receipts (limit = 100): HeldReceipt[] {
    return this.statements.all!.all(this.client.info.chainId, this.client.info.escrow, limit).map(toHeld)
  }

  stop (): void {
    this.stopped = true
    for (const timer of this.timers) clearTimeout(timer)
  }

  private held (jobId: Hex): HeldReceipt | undefined {
    const row = this.statements.get!.get(this.client.info.chainId, this.client.info.escrow, jobId)
    return row === undefined ? undefined : toHeld(row)
  }

  private settleLater (jobId: Hex, attempt = 0): void {
    if (this.stopped) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.settle(jobId).catch(() => {
        // Chain unreachable or busy: try again later, a few times, backing off.
        if (attempt < 5) this.settleLater(jobId, attempt + 1)
      })
    }, this.policy.claimDelayMs * 2 ** attempt)
    timer.unref()
    this.timers.add(timer)
  }

  /** Gets paid what the best receipt says: by the requester's settlement if the job is closed, else by claiming. */
  private settle (jobId: Hex): Promise<void> {
    const running = this.settling.get(jobId)
    if (running !== undefined) return running
    const settling = (async () => {
      const held = this.held(jobId)
      if (held === undefined || held.state !== 'open') return
      const job = await readEscrowJob(this.client, jobId)
      let paid = await readPaidTo(this.client, jobId, this.key.address)
      if (!job.closed && paid < held.cumulativeWei) {
        const row = this.statements.get!.get(this.client.info.chainId, this.client.info.escrow, jobId)!
        try {
          await claimPayment(this.client, { jobId, provider: this.key.address, cumulativeAmount: held.cumulativeWei, signature: String(row.signature) as Hex })
          paid = held.cumulativeWei
          this.events.emit({ type: 'payment.claimed', jobId: held.jobId, cumulativeWei: String(paid) })
        } catch (error) {
          // The requester may have finalised in between; the next look at the chain tells.
          paid = await readPaidTo(this.client, jobId, this.key.address)
          if (paid < held.cumulativeWei && !(await readEscrowJob(this.client, jobId)).closed) throw error
        }
      }
      const state = paid >= held.cumulativeWei ? 'settled' : (await readEscrowJob(this.client, jobId)).closed ? 'short' : 'open'
      this.statements.paid!.run(String(paid), state, Date.now(), this.client.info.chainId, this.client.info.escrow, jobId)
      if (state === 'short') this.events.emit({ type: 'payment.short', jobId: held.jobId, requester: held.requester, owedWei: String(held.cumulativeWei), paidWei: String(paid) })
    })().finally(() => this.settling.delete(jobId))
    this.settling.set(jobId, settling)
    return settling
  }
}

function toHeld (row: Record<string, unknown>): HeldReceipt {
  return {
    onchainJobId: String(row.onchain_id) as Hex,
    jobId: String(row.job_id),
    requester: String(row.requester) as Address,
    cumulativeWei: BigInt(String(row.cumulative_wei)),
    paidWei: BigInt(String(row.paid_wei)),
    state: row.state as HeldReceipt['state'],
  }
}
