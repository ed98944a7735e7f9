import { addressOfPeer, publicKeyOfPeer } from '../identity/index.ts'
import { formatCon, readEscrowBalance, readLine, verifyReceipt } from '../ledger/index.ts'
import { MAX_UNPAID_RESULTS } from '../net/index.ts'
import { Semaphore, unrefTimer } from '../util/index.ts'
import type { ChainReader, PaymentLine } from '../ledger/index.ts'
import type { AdmissionDecision, ProviderEvent } from './providerEvents.ts'
import type { HeldReceipt, ReceiptBook } from './receiptBook.ts'
import type { AgreementProposalBody, TaskReceipt } from '../net/index.ts'
import type { EventHub } from '../util/index.ts'
import type { PeerId } from '@libp2p/interface'
import type { Address, Hex } from 'viem'

/** While a requester's tasks wait for a reservation its receipts already exceed, the chain is read this often. */
const RESERVATION_POLL_MS = 500

/**
 * While a requester has sessions open here, its payment line is read this often (at the confirmed
 * block): a reorg can take a reservation away, and the requester may announce a release.
 */
const LINE_CHECK_MS = 3_000

/** Tries, backing off from the claim delay, to see a requester's receipt paid after its session ended. */
const SETTLE_TRIES = 6

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
export type ClaimReceipt = (claim: { requester: Address, provider: Address, cumulativeAmount: bigint, signature: Hex }) => Promise<unknown>

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

/** A requester's payment line to this provider, as this provider works for it. */
interface Line {
  readonly requester: Address
  /** What the line has reserved, as last read. */
  reservedWei: bigint
  /**
   * What the requester owed on the line when this provider began counting: its best receipt then,
   * or what the line had paid if more. What it owes now is this and the results delivered since.
   */
  readonly baseWei: bigint
  /** Results delivered since, each at its job's price. */
  deliveredWei: bigint
  /** The lowest price of the jobs counted: what is unpaid is turned into results at it. */
  priceWei: bigint
  /** The requester's best receipt. */
  receiptWei: bigint
  /** Sessions of the requester's paid jobs now open. */
  sessions: number
  /** Permits: MAX_UNPAID_RESULTS + cores − unpaid results; a running task holds one. */
  readonly gate: Semaphore
  poll: ReturnType<typeof setTimeout> | undefined
}

/**
 * The provider's side of payments, one payment line per requester: before taking a paid job it
 * checks on chain that the requester has not announced it takes its line back and has something in
 * the escrow to pay with; it keeps the requester's receipts in its receipt book (only the highest
 * per line matters); it runs a requester's tasks only while few of its results are unpaid for sure,
 * that is not covered by a receipt within the line's reservation; and it claims, or sees that the
 * requester's settlements paid it, when the requester's sessions end or enough is unclaimed.
 */
export class ProviderPayments {
  private readonly client: ChainReader
  private readonly payout: Address
  private readonly book: ReceiptBook
  private readonly claim: ClaimReceipt | undefined
  private readonly policy: PaymentPolicy
  private readonly events: EventHub<ProviderEvent>
  /** By requester address (lower case). */
  private readonly lines = new Map<string, Line>()
  private readonly refreshing = new Map<string, Promise<void>>()
  private readonly settling = new Map<string, Promise<PaymentLine>>()
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private lineCheck: ReturnType<typeof setInterval> | undefined
  private checkingLines = false
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
    for (const requester of this.book.open()) this.settleLater(requester)
    this.lineCheck = setInterval(() => void this.checkLines(), LINE_CHECK_MS)
    unrefTimer(this.lineCheck)
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
    try {
      const [onChain, free] = await Promise.all([this.lineOnChain(proposal.requester as Address), readEscrowBalance(this.client, proposal.requester as Address)])
      if (onChain.releaseAt !== 0n) return { accept: false, reason: 'the requester announced that it takes back what its payment line to this provider holds' }
      if (onChain.reserved - onChain.paid + free < price) return { accept: false, reason: `the requester has ${formatCon(free)} in the escrow, less than one task's price` }
      const line = this.lineFor(proposal.requester as Address, onChain)
      line.reservedWei = onChain.reserved
      if (price < line.priceWei) line.priceWei = price
      line.sessions++
    } catch (error) {
      return { accept: false, reason: `could not check the escrow: ${(error as Error).message}` }
    }
    return accepted
  }

  /**
   * Waits until one more task of the job may run: while this provider has delivered the requester
   * MAX_UNPAID_RESULTS results that no receipt within its line's reservation covers, on top of the
   * tasks it runs for it, the requester's tasks wait. Rejects when `signal` aborts (the task was cancelled).
   */
  async takeTask (proposal: AgreementProposalBody, signal: AbortSignal): Promise<void> {
    const line = this.lineOf(proposal)
    if (line === undefined) return
    if (line.gate.full && line.gate.waiting === 0) {
      this.events.emit({ type: 'payment.awaited', jobId: proposal.jobId, requester: proposal.requester, unpaidResults: unpaidResults(line) })
    }
    if (line.gate.full) this.pollReservation(line)
    await line.gate.acquire(signal)
  }

  /** A task taken with takeTask ended; `delivered`: its exit result went to the requester, who is to pay for it. */
  taskDone (proposal: AgreementProposalBody, delivered: boolean): void {
    const line = this.lineOf(proposal)
    if (line === undefined) return
    if (delivered) {
      line.deliveredWei += BigInt(proposal.pricePerTaskWei)
      this.updateGate(line)
    }
    line.gate.release()
  }

  /** A receipt arrived: checked against the requester's key, kept if it raises the total. */
  accept (receipt: TaskReceipt, proposal: AgreementProposalBody, requester: PeerId): void {
    const { body } = receipt
    const publicKey = publicKeyOfPeer(requester)
    if (proposal.escrow === null || body.agreementId !== proposal.agreementId || body.jobId !== proposal.jobId || body.chainId !== this.client.info.chainId ||
      body.escrow.toLowerCase() !== proposal.escrow.address.toLowerCase() || body.requester.toLowerCase() !== proposal.requester.toLowerCase() ||
      body.provider.toLowerCase() !== this.payout.toLowerCase()) {
      this.events.emit({ type: 'receipt.rejected', jobId: body.jobId, reason: 'the receipt is not for this agreement' })
      return
    }
    const cumulative = BigInt(body.cumulativeWei)
    const from = body.requester as Address
    const signed = publicKey !== undefined && verifyReceipt(publicKey, { chainId: body.chainId, escrow: body.escrow as Address, requester: from, provider: this.payout, cumulativeAmount: cumulative }, receipt.signature as Hex)
    if (!signed) {
      this.events.emit({ type: 'receipt.rejected', jobId: body.jobId, reason: 'the receipt is not signed by the requester' })
      return
    }
    const held = this.book.held(from)
    if (held !== undefined && held.cumulativeWei >= cumulative) return
    this.book.keep({ requester: from, jobId: body.jobId, cumulativeWei: cumulative, signature: receipt.signature as Hex })
    this.events.emit({ type: 'receipt.received', jobId: body.jobId, cumulativeWei: String(cumulative) })
    const line = this.lineOf(proposal)
    if (line === undefined) return
    line.receiptWei = cumulative
    this.updateGate(line)
    if (cumulative <= line.reservedWei) {
      this.claimIfDue(line, held?.paidWei ?? 0n)
      return
    }
    // Only what the line holds is paid for sure: learn whether the reservation grew too.
    void this.refreshReservation(line)
    if (line.gate.waiting > 0) this.pollReservation(line)
  }

  /** A session of the requester's job ended: settle once the requester has had time to. */
  sessionEnded (proposal: AgreementProposalBody): void {
    const line = this.lineOf(proposal)
    if (line === undefined) return
    const requester = line.requester
    if (this.book.held(requester) !== undefined) this.settleLater(requester)
    // A line paid for every result it got needs no more counting once no session of it is open.
    if (--line.sessions === 0 && unpaidResults(line) === 0) this.lines.delete(requester.toLowerCase())
  }

  receipts (limit = 100): HeldReceipt[] {
    return this.book.recent(limit)
  }

  stop (): void {
    this.stopped = true
    clearInterval(this.lineCheck)
    for (const timer of this.timers) clearTimeout(timer)
    for (const line of this.lines.values()) clearTimeout(line.poll)
  }

  /**
   * The line of a requester this provider is about to work for: counted from its best receipt, or
   * from what the line has paid if that is more (a receipt this provider lost).
   */
  private lineFor (requester: Address, onChain: PaymentLine): Line {
    const key = requester.toLowerCase()
    let line = this.lines.get(key)
    if (line === undefined) {
      const held = this.book.held(requester)?.cumulativeWei ?? 0n
      const base = held > onChain.paid ? held : onChain.paid
      line = { requester, reservedWei: onChain.reserved, baseWei: base, deliveredWei: 0n, priceWei: 2n ** 256n, receiptWei: base, sessions: 0, gate: new Semaphore(MAX_UNPAID_RESULTS + this.policy.cores), poll: undefined }
      this.lines.set(key, line)
    }
    return line
  }

  /**
   * Reads the line of every requester with a session open here. Reservations a reorg took away stop
   * covering results; a release the requester announced is reported (the agent ends the requester's
   * sessions) and what is owed is claimed at once. A read that fails changes nothing (the chain may
   * be down for a while; tasks go on, as payments retry).
   */
  private async checkLines (): Promise<void> {
    if (this.checkingLines || this.stopped) return
    this.checkingLines = true
    try {
      const working = [...this.lines.values()].filter(line => line.sessions > 0)
      await Promise.all(working.map(async line => {
        const onChain = await this.lineOnChain(line.requester).catch(() => undefined)
        if (onChain === undefined || this.stopped) return
        this.seeReservation(line, onChain.reserved)
        if (onChain.releaseAt !== 0n) {
          this.events.emit({ type: 'payment.line-released', requester: line.requester, reason: 'the requester announced that it takes back what its payment line to this provider holds' })
          void this.settle(line.requester).catch(() => { /* retried after the sessions end */ })
        }
      }))
    } finally {
      this.checkingLines = false
    }
  }

  /** The requester's line to this provider as the chain holds it, the client's confirmations deep. */
  private lineOnChain (requester: Address): Promise<PaymentLine> {
    return readLine(this.client, requester, this.payout)
  }

  private lineOf (proposal: AgreementProposalBody): Line | undefined {
    return proposal.escrow === null ? undefined : this.lines.get(proposal.requester.toLowerCase())
  }

  /** What the chain now holds on the line: the results it covers change with it, and listeners hear of it. */
  private seeReservation (line: Line, reserved: bigint): void {
    if (reserved === line.reservedWei) return
    this.events.emit(reserved > line.reservedWei
      ? { type: 'payment.reserved', requester: line.requester, reservedWei: String(reserved) }
      : { type: 'payment.reservation-lost', requester: line.requester, reservedWei: String(reserved), wasWei: String(line.reservedWei) })
    line.reservedWei = reserved
    this.updateGate(line)
  }

  private updateGate (line: Line): void {
    line.gate.resize(Math.max(0, MAX_UNPAID_RESULTS + this.policy.cores - unpaidResults(line)))
  }

  /** Reads what the line holds now, and lets waiting tasks run if it grew. */
  private refreshReservation (line: Line): Promise<void> {
    const key = line.requester.toLowerCase()
    const running = this.refreshing.get(key)
    if (running !== undefined) return running
    const refresh = this.lineOnChain(line.requester)
      .then(onChain => {
        if (onChain.reserved <= line.reservedWei) return
        this.seeReservation(line, onChain.reserved)
        this.claimIfDue(line, onChain.paid)
      }, () => { /* the chain is busy: the next receipt or poll reads again */ })
      .finally(() => this.refreshing.delete(key))
    this.refreshing.set(key, refresh)
    return refresh
  }

  /**
   * While a requester's tasks wait and its receipt exceeds the reservation, the requester is likely
   * reserving right now: read the chain again until the tasks can run or the receipt is covered.
   */
  private pollReservation (line: Line): void {
    if (line.poll !== undefined || this.stopped) return
    line.poll = setTimeout(() => {
      void (async () => {
        const ahead = line.receiptWei > line.reservedWei
        if (ahead) await this.refreshReservation(line)
        line.poll = undefined
        if (ahead && line.gate.waiting > 0) this.pollReservation(line)
      })()
    }, RESERVATION_POLL_MS)
    unrefTimer(line.poll)
  }

  private claimIfDue (line: Line, paidWei: bigint): void {
    const covered = min(line.receiptWei, line.reservedWei)
    if (covered - paidWei >= this.policy.claimThresholdWei && covered > paidWei) void this.settle(line.requester).catch(() => { /* retried after the session */ })
  }

  /**
   * Checks after the claim delay that the requester's best receipt is paid, claiming what the line
   * covers; tries again later, backing off, while it is not paid in full (the requester settles when
   * its job ends, which may be long after this provider's session). What is still open after the
   * last try is tried again at the next start.
   */
  private settleLater (requester: Address, attempt = 0): void {
    if (this.stopped) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      const again = () => { if (attempt + 1 < SETTLE_TRIES) this.settleLater(requester, attempt + 1) }
      this.settle(requester).then(() => {
        if (this.book.held(requester)?.state === 'open') again()
      }, again)
    }, this.policy.claimDelayMs * 2 ** attempt)
    unrefTimer(timer)
    this.timers.add(timer)
  }

  /**
   * Gets paid what the best receipt says as far as the line covers it: by the requester's
   * settlements, or by claiming (a tab, without a wallet, only watches). Returns the line as it is after.
   */
  private settle (requester: Address): Promise<PaymentLine> {
    const key = requester.toLowerCase()
    const running = this.settling.get(key)
    if (running !== undefined) return running
    const settling = (async () => {
      const read = () => this.lineOnChain(requester)
      let onChain = await read()
      const held = this.book.held(requester)
      if (held === undefined || held.state !== 'open') return onChain
      const covered = min(held.cumulativeWei, onChain.reserved)
      if (this.claim !== undefined && onChain.paid < covered) {
        try {
          await this.claim({ requester, provider: this.payout, cumulativeAmount: held.cumulativeWei, signature: held.signature })
          this.events.emit({ type: 'payment.claimed', jobId: held.jobId, cumulativeWei: String(covered) })
        } catch (error) {
          // Another claim (anyone may submit one) or a settlement may have paid it in between.
          onChain = await read()
          if (onChain.paid < covered) throw error
        }
        onChain = await read()
      }
      const paidInFull = onChain.paid >= held.cumulativeWei
      // A requester that takes its line back while it owes more than the line paid: its own receipt is the proof.
      const short = !paidInFull && onChain.releaseAt !== 0n
      this.book.paid(requester, onChain.paid, paidInFull ? 'settled' : short ? 'short' : 'open')
      if (short) this.events.emit({ type: 'payment.short', jobId: held.jobId, requester, owedWei: String(held.cumulativeWei), paidWei: String(onChain.paid) })
      return onChain
    })().finally(() => this.settling.delete(key))
    this.settling.set(key, settling)
    return settling
  }
}

const min = (a: bigint, b: bigint) => a < b ? a : b

/** Results delivered that no receipt within the line's reservation covers, at the line's lowest price. */
function unpaidResults (line: Line): number {
  const unpaid = line.baseWei + line.deliveredWei - min(line.receiptWei, line.reservedWei)
  if (unpaid <= 0n) return 0
  return Number((unpaid + line.priceWei - 1n) / line.priceWei)
}
