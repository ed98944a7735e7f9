import { addressOfPeer, publicKeyOfPeer } from '../identity/index.ts'
import { formatCon, readEscrowJob, readEscrowShare, readJobSpecHash, verifyReceipt } from '../ledger/index.ts'
import { MAX_UNPAID_RESULTS } from '../net/index.ts'
import { Semaphore, unrefTimer } from '../util/index.ts'
import type { ChainReader, EscrowJob, EscrowShare } from '../ledger/index.ts'
import type { AdmissionDecision, ProviderEvent } from './providerEvents.ts'
import type { HeldReceipt, ReceiptBook } from './receiptBook.ts'
import type { AgreementProposalBody, TaskReceipt } from '../net/index.ts'
import type { EventHub } from '../util/index.ts'
import type { PeerId } from '@libp2p/interface'
import type { Address, Hex } from 'viem'

/** While a requester's tasks wait for a reservation its receipts already exceed, the chain is read this often. */
const RESERVATION_POLL_MS = 500

/**
 * While a paid job has sessions open here, its escrow is read this often (at the confirmed block):
 * a reorg deeper than the confirmations can take away the opening this provider was admitted on.
 */
const ESCROW_CHECK_MS = 3_000

export interface PaymentPolicy {
  /** The least a job must pay per task ("0": free jobs are welcome too). */
  readonly priceWei: bigint
  /** Claim during a job once this much is owed, reserved and unclaimed. */
  readonly claimThresholdWei: bigint
  /** After a job's session ends, how long to leave the requester to settle before claiming. */
  readonly claimDelayMs: number
  /** Tasks this provider runs at once: a requester may have that many running on top of its unpaid results. */
  readonly cores: number
}

/** Sends a claim of a receipt to the escrow (a node's wallet pays the gas). */
export type ClaimReceipt = (claim: { jobKey: Hex, provider: Address, cumulativeAmount: bigint, signature: Hex }) => Promise<unknown>

export interface ProviderPaymentsInit {
  /** Reads the escrow (a node's own client; a tab's reads go through the node that served it). */
  readonly chain: ChainReader
  /** The address receipts name and the escrow pays: the node's key's, or the payout a tab's user chose. */
  readonly payout: Address
  readonly receipts: ReceiptBook
  /** Absent where there is no wallet (a tab): the requester's settlement pays, and is only watched for. */
  readonly claim?: ClaimReceipt
  readonly policy: PaymentPolicy
  readonly events: EventHub<ProviderEvent>
}

/** A paid job as this provider works on it. */
interface PaidJob {
  readonly jobKey: Hex
  readonly jobId: string
  readonly priceWei: bigint
  /** What the escrow holds for this provider, as last read. */
  reservedWei: bigint
  /** The requester's best receipt. */
  receiptWei: bigint
  /** Results delivered that the requester is to pay for (exit results). */
  delivered: number
  /** Sessions of the job now open. */
  sessions: number
}

/** What one requester owes this provider in results, and the gate its tasks pass to run. */
interface Credit {
  readonly jobs: Map<Hex, PaidJob>
  /** Permits: MAX_UNPAID_RESULTS + cores − unpaid results; a running task holds one. */
  readonly gate: Semaphore
  poll: ReturnType<typeof setTimeout> | undefined
}

/**
 * The provider's side of payments: before taking a paid job it checks on chain that the escrow
 * exists, belongs to the requester, matches the job's spec hash and can still pay; it keeps the
 * requester's receipts in its receipt book (only the highest per job matters); it runs a requester's tasks
 * only while few of its results are unpaid for sure, that is not covered by a receipt within this
 * provider's reservation in the escrow; and it claims, or sees that the requester's final
 * settlement paid it, when the job ends or enough is unclaimed.
 */
export class ProviderPayments {
  private readonly client: ChainReader
  private readonly payout: Address
  private readonly book: ReceiptBook
  private readonly claim: ClaimReceipt | undefined
  private readonly policy: PaymentPolicy
  private readonly events: EventHub<ProviderEvent>
  /** By requester address (lower case). */
  private readonly credits = new Map<string, Credit>()
  private readonly refreshing = new Map<Hex, Promise<void>>()
  private readonly settling = new Map<string, Promise<void>>()
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private escrowCheck: ReturnType<typeof setInterval> | undefined
  private checkingEscrows = false
  private stopped = false

  constructor (init: ProviderPaymentsInit) {
    this.client = init.chain
    this.payout = init.payout
    this.book = init.receipts
    this.claim = init.claim
    this.policy = init.policy
    this.events = init.events
  }

  /** Receipts not yet paid in full (e.g. from before a restart) are settled after the claim delay. */
  start (): void {
    for (const jobKey of this.book.open()) this.settleLater(jobKey)
    this.escrowCheck = setInterval(() => void this.checkEscrows(), ESCROW_CHECK_MS)
    unrefTimer(this.escrowCheck)
  }

  /**
   * Decides whether the job of `proposal`, from `requester`, pays enough and is paid for. Payments
   * set no window of their own: an accepted job keeps the `maxInFlight` the requester asked for.
   */
  async admit (proposal: AgreementProposalBody, requester: PeerId): Promise<AdmissionDecision> {
    const accepted: AdmissionDecision = { accept: true, maxInFlight: proposal.maxInFlight }
    const price = BigInt(proposal.pricePerTaskWei)
    if (price < this.policy.priceWei) return { accept: false, reason: `this provider charges ${formatCon(this.policy.priceWei)} per task; the job pays ${formatCon(price)}` }
    if (price === 0n) return accepted
    if (addressOfPeer(requester)?.toLowerCase() !== proposal.requester.toLowerCase()) return { accept: false, reason: `the proposal names requester ${proposal.requester}, which is not the key of ${requester.toString()}` }
    const escrow = proposal.escrow
    if (escrow === null) return { accept: false, reason: 'a paid job needs an escrow' }
    if (escrow.address.toLowerCase() !== this.client.info.escrow.toLowerCase()) return { accept: false, reason: `escrow ${escrow.address} is not the one this provider trusts (${this.client.info.escrow})` }
    const jobKey = escrow.jobKey as Hex
    try {
      const [job, share, specHash] = await Promise.all([readEscrowJob(this.client, jobKey), readEscrowShare(this.client, jobKey, this.payout), readJobSpecHash(this.client, jobKey)])
      const now = BigInt(Math.floor(Date.now() / 1000))
      if (job.requester.toLowerCase() !== proposal.requester.toLowerCase()) return { accept: false, reason: 'the escrow holds no such job of this requester' }
      if (specHash?.toLowerCase() !== proposal.specHash.toLowerCase()) return { accept: false, reason: 'the escrow was opened for another job spec' }
      if (job.closed || job.finalized) return { accept: false, reason: 'the job\'s escrow is already settled' }
      if (job.deadline <= now + 60n) return { accept: false, reason: 'the job\'s escrow is past its deadline' }
      if (job.unreserved + share.reserved - share.claimed < price) return { accept: false, reason: `the escrow has ${formatCon(job.unreserved)} left to reserve, less than one task's price` }
      const jobs = this.creditOf(proposal.requester).jobs
      const known = jobs.get(jobKey)
      if (known === undefined) {
        jobs.set(jobKey, { jobKey, jobId: proposal.jobId, priceWei: price, reservedWei: share.reserved, receiptWei: this.held(jobKey)?.cumulativeWei ?? 0n, delivered: 0, sessions: 1 })
      } else {
        known.reservedWei = share.reserved
        known.sessions++
      }
    } catch (error) {
      return { accept: false, reason: `could not check the escrow: ${(error as Error).message}` }
    }
    return accepted
  }

  /**
   * Waits until one more task of the job may run: while this provider has delivered the requester
   * MAX_UNPAID_RESULTS results that no receipt within its reservation covers, on top of the tasks it
   * runs for it, the requester's tasks wait. Rejects when `signal` aborts (the task was cancelled).
   */
  async takeTask (proposal: AgreementProposalBody, signal: AbortSignal): Promise<void> {
    const job = this.paidJob(proposal)
    if (job === undefined) return
    const credit = this.creditOf(proposal.requester)
    if (credit.gate.full && credit.gate.waiting === 0) {
      this.events.emit({ type: 'payment.awaited', jobId: proposal.jobId, requester: proposal.requester, unpaidResults: this.unpaidResults(credit) })
    }
    if (credit.gate.full) this.pollReservations(credit)
    await credit.gate.acquire(signal)
  }

  /** A task taken with takeTask ended; `delivered`: its exit result went to the requester, who is to pay for it. */
  taskDone (proposal: AgreementProposalBody, delivered: boolean): void {
    const job = this.paidJob(proposal)
    if (job === undefined) return
    const credit = this.creditOf(proposal.requester)
    if (delivered) {
      job.delivered++
      this.updateGate(credit)
    }
    credit.gate.release()
  }

  /** A receipt arrived: checked against the requester's key, kept if it raises the total. */
  accept (receipt: TaskReceipt, proposal: AgreementProposalBody, requester: PeerId): void {
    const { body } = receipt
    const publicKey = publicKeyOfPeer(requester)
    if (proposal.escrow === null || body.agreementId !== proposal.agreementId || body.jobId !== proposal.jobId || body.chainId !== this.client.info.chainId ||
      body.escrow.toLowerCase() !== proposal.escrow.address.toLowerCase() || body.jobKey.toLowerCase() !== proposal.escrow.jobKey.toLowerCase() ||
      body.provider.toLowerCase() !== this.payout.toLowerCase()) {
      this.events.emit({ type: 'receipt.rejected', jobId: body.jobId, reason: 'the receipt is not for this agreement' })
      return
    }
    const jobKey = body.jobKey as Hex
    const cumulative = BigInt(body.cumulativeWei)
    const signed = publicKey !== undefined && verifyReceipt(publicKey, { chainId: body.chainId, escrow: body.escrow as Address, jobKey, provider: this.payout, cumulativeAmount: cumulative }, receipt.signature as Hex)
    if (!signed) {
      this.events.emit({ type: 'receipt.rejected', jobId: body.jobId, reason: 'the receipt is not signed by the requester' })
      return
    }
    const held = this.held(jobKey)
    if (held !== undefined && held.cumulativeWei >= cumulative) return
    this.book.keep({ jobKey, jobId: body.jobId, requester: proposal.requester as Address, cumulativeWei: cumulative, signature: receipt.signature as Hex })
    this.events.emit({ type: 'receipt.received', jobId: body.jobId, cumulativeWei: String(cumulative) })
    const job = this.paidJob(proposal)
    if (job === undefined) return
    const credit = this.creditOf(proposal.requester)
    job.receiptWei = cumulative
    this.updateGate(credit)
    if (cumulative <= job.reservedWei) {
      this.claimIfDue(job, held?.paidWei ?? 0n)
      return
    }
    // Only what the escrow holds for this provider is paid for sure: learn whether the reservation grew too.
    void this.refreshReservation(credit, job)
    if (credit.gate.waiting > 0) this.pollReservations(credit)
  }

  /** The job's session ended: settle once the requester has had time to finalise. */
  sessionEnded (proposal: AgreementProposalBody): void {
    if (proposal.escrow === null) return
    const jobKey = proposal.escrow.jobKey as Hex
    if (this.held(jobKey) !== undefined) this.settleLater(jobKey)
    // A job paid for every result it got needs no more counting once no session of it is open.
    const job = this.paidJob(proposal)
    if (job !== undefined && --job.sessions === 0 && unpaidResultsOf(job) === 0) this.creditOf(proposal.requester).jobs.delete(jobKey)
  }

  receipts (limit = 100): HeldReceipt[] {
    return this.book.recent(limit)
  }

  stop (): void {
    this.stopped = true
    clearInterval(this.escrowCheck)
    for (const timer of this.timers) clearTimeout(timer)
    for (const credit of this.credits.values()) clearTimeout(credit.poll)
  }

  /**
   * Reads the escrow of every paid job with a session open here. One that no longer holds the job
   * for its requester (a reorg removed its opening) or that was refunded is reported, and the agent
   * ends the job's sessions: its tasks would earn receipts nothing pays. A read that fails changes
   * nothing (the chain may be down for a while; tasks go on, as payments retry).
   */
  private async checkEscrows (): Promise<void> {
    if (this.checkingEscrows || this.stopped) return
    this.checkingEscrows = true
    try {
      const working = [...this.credits].flatMap(([requester, credit]) => [...credit.jobs.values()].filter(job => job.sessions > 0).map(job => ({ requester, job })))
      await Promise.all(working.map(async ({ requester, job }) => {
        const read = await this.readEscrow(job.jobKey).catch(() => undefined)
        if (read === undefined || this.stopped) return
        const [escrow, share] = read
        // A reorg may also take reservations away: only what the chain holds now covers results.
        if (share.reserved < job.reservedWei) {
          job.reservedWei = share.reserved
          this.updateGate(this.creditOf(requester))
        }
        const reason = escrow.requester.toLowerCase() !== requester
          ? 'the escrow no longer holds this job (a reorg removed its opening)'
          : escrow.closed ? 'the job\'s escrow was refunded' : undefined
        if (reason !== undefined) this.events.emit({ type: 'payment.escrow-gone', jobId: job.jobId, jobKey: job.jobKey, requester, reason })
      }))
    } finally {
      this.checkingEscrows = false
    }
  }

  /** The job's escrow and this provider's share of it, as the chain holds them now. */
  private readEscrow (jobKey: Hex): Promise<[EscrowJob, EscrowShare]> {
    return Promise.all([readEscrowJob(this.client, jobKey), readEscrowShare(this.client, jobKey, this.payout)])
  }

  private paidJob (proposal: AgreementProposalBody): PaidJob | undefined {
    return proposal.escrow === null ? undefined : this.creditOf(proposal.requester).jobs.get(proposal.escrow.jobKey as Hex)
  }

  private creditOf (requester: string): Credit {
    let credit = this.credits.get(requester.toLowerCase())
    if (credit === undefined) {
      credit = { jobs: new Map(), gate: new Semaphore(MAX_UNPAID_RESULTS + this.policy.cores), poll: undefined }
      this.credits.set(requester.toLowerCase(), credit)
    }
    return credit
  }

  /** Results delivered to the requester, over all its jobs, that no receipt within this provider's reservation covers. */
  private unpaidResults (credit: Credit): number {
    let unpaid = 0
    for (const job of credit.jobs.values()) unpaid += unpaidResultsOf(job)
    return unpaid
  }

  private updateGate (credit: Credit): void {
    credit.gate.resize(Math.max(0, MAX_UNPAID_RESULTS + this.policy.cores - this.unpaidResults(credit)))
  }

  /** Reads what the escrow holds for this provider now, and lets waiting tasks run if it grew. */
  private refreshReservation (credit: Credit, job: PaidJob): Promise<void> {
    const running = this.refreshing.get(job.jobKey)
    if (running !== undefined) return running
    const refresh = readEscrowShare(this.client, job.jobKey, this.payout)
      .then(share => {
        if (share.reserved <= job.reservedWei) return
        job.reservedWei = share.reserved
        this.updateGate(credit)
        this.claimIfDue(job, share.claimed)
      }, () => { /* the chain is busy: the next receipt or poll reads again */ })
      .finally(() => this.refreshing.delete(job.jobKey))
    this.refreshing.set(job.jobKey, refresh)
    return refresh
  }

  /**
   * While a requester's tasks wait and its receipts exceed a reservation, the requester is likely
   * reserving right now: read the chain again until the tasks can run or no receipt is ahead.
   */
  private pollReservations (credit: Credit): void {
    if (credit.poll !== undefined || this.stopped) return
    credit.poll = setTimeout(() => {
      void (async () => {
        const ahead = [...credit.jobs.values()].filter(job => job.receiptWei > job.reservedWei)
        await Promise.all(ahead.map(job => this.refreshReservation(credit, job)))
        credit.poll = undefined
        if (ahead.length > 0 && credit.gate.waiting > 0) this.pollReservations(credit)
      })()
    }, RESERVATION_POLL_MS)
    unrefTimer(credit.poll)
  }

  private claimIfDue (job: PaidJob, paidWei: bigint): void {
    const covered = min(job.receiptWei, job.reservedWei)
    if (covered - paidWei >= this.policy.claimThresholdWei && covered > paidWei) void this.settle(job.jobKey).catch(() => { /* retried after the session */ })
  }

  private held (jobKey: Hex): (HeldReceipt & { signature: Hex }) | undefined {
    return this.book.held(jobKey)
  }

  private settleLater (jobKey: Hex, attempt = 0): void {
    if (this.stopped) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.settle(jobKey).catch(() => {
        // Chain unreachable or busy: try again later, a few times, backing off.
        if (attempt < 5) this.settleLater(jobKey, attempt + 1)
      })
    }, this.policy.claimDelayMs * 2 ** attempt)
    unrefTimer(timer)
    this.timers.add(timer)
  }

  /**
   * Gets paid what the best receipt says: by the requester's settlement, or by claiming what the
   * escrow holds for this provider (also after the settlement: it cannot take a reservation back).
   */
  private settle (jobKey: Hex): Promise<void> {
    const running = this.settling.get(jobKey)
    if (running !== undefined) return running
    const settling = (async () => {
      const held = this.held(jobKey)
      if (held === undefined || held.state !== 'open') return
      const read = () => this.readEscrow(jobKey)
      let [job, share] = await read()
      const covered = min(held.cumulativeWei, share.reserved)
      const claim = this.claim
      if (claim === undefined) {
        // No wallet to claim with (a tab): the requester's settlement pays, so wait for it.
        if (!job.closed && !job.finalized && share.claimed < held.cumulativeWei) throw new Error('the job is not settled yet')
      } else if (!job.closed && share.claimed < covered) {
        try {
          await claim({ jobKey, provider: this.payout, cumulativeAmount: held.cumulativeWei, signature: held.signature })
          this.events.emit({ type: 'payment.claimed', jobId: held.jobId, cumulativeWei: String(covered) })
        } catch (error) {
          // Another claim (anyone may submit one) or the settlement may have paid it in between.
          [job, share] = await read()
          if (share.claimed < covered && !job.closed) throw error
        }
        [job, share] = await read()
      }
      const paid = share.claimed
      // Once settled, nothing can raise the reservation: what a receipt says beyond it is lost.
      const state = paid >= held.cumulativeWei ? 'settled' : job.closed || job.finalized ? 'short' : 'open'
      this.book.paid(jobKey, paid, state)
      if (state === 'short') this.events.emit({ type: 'payment.short', jobId: held.jobId, requester: held.requester, owedWei: String(held.cumulativeWei), paidWei: String(paid) })
    })().finally(() => this.settling.delete(jobKey))
    this.settling.set(jobKey, settling)
    return settling
  }
}

const min = (a: bigint, b: bigint) => a < b ? a : b

/** A job's results delivered that no receipt within the reservation covers. */
function unpaidResultsOf (job: PaidJob): number {
  return Math.max(0, job.delivered - Number(min(job.receiptWei, job.reservedWei) / job.priceWei))
}
