/**
 * A tab's receipts, kept with its session key in sessionStorage: they outlive the tab's pauses and
 * reloads (each start of the provider reads them), one book per escrow and payout address.
 */
import type { HeldReceipt, ReceiptBook } from '../../provider/index.ts'
import type { Address, Hex } from 'viem'

/** As stored: amounts as decimal strings. */
interface StoredReceipt {
  jobKey: Hex
  jobId: string
  requester: Address
  cumulativeWei: string
  paidWei: string
  state: HeldReceipt['state']
  signature: Hex
  updatedAt: number
}

export class TabReceiptBook implements ReceiptBook {
  private readonly key: string
  private readonly receipts: Map<Hex, StoredReceipt>

  constructor (chain: { chainId: number, escrow: Address }, payout: Address) {
    this.key = `conun.receipts.${chain.chainId}.${chain.escrow.toLowerCase()}.${payout.toLowerCase()}`
    const kept = JSON.parse(sessionStorage.getItem(this.key) ?? '[]') as StoredReceipt[]
    this.receipts = new Map(kept.map(receipt => [receipt.jobKey, receipt]))
  }

  held (jobKey: Hex): (HeldReceipt & { signature: Hex }) | undefined {
    const stored = this.receipts.get(jobKey)
    return stored === undefined ? undefined : { ...toHeld(stored), signature: stored.signature }
  }

  keep (receipt: { jobKey: Hex, jobId: string, requester: Address, cumulativeWei: bigint, signature: Hex }): void {
    const paidWei = this.receipts.get(receipt.jobKey)?.paidWei ?? '0'
    this.receipts.set(receipt.jobKey, { ...receipt, cumulativeWei: String(receipt.cumulativeWei), paidWei, state: 'open', updatedAt: Date.now() })
    this.save()
  }

  paid (jobKey: Hex, paidWei: bigint, state: HeldReceipt['state']): void {
    const stored = this.receipts.get(jobKey)
    if (stored === undefined) return
    this.receipts.set(jobKey, { ...stored, paidWei: String(paidWei), state, updatedAt: Date.now() })
    this.save()
  }

  open (): Hex[] {
    return [...this.receipts.values()].filter(receipt => receipt.state === 'open').map(receipt => receipt.jobKey)
  }

  recent (limit: number): HeldReceipt[] {
    return [...this.receipts.values()].sort((a, b) => b.updatedAt - a.updatedAt).slice(0, limit).map(toHeld)
  }

  /** What all receipts in this book say is owed, and what the escrow has paid of it. */
  totals (): { owedWei: bigint, paidWei: bigint } {
    let owedWei = 0n
    let paidWei = 0n
    for (const receipt of this.receipts.values()) {
      owedWei += BigInt(receipt.cumulativeWei)
      paidWei += BigInt(receipt.paidWei)
    }
    return { owedWei, paidWei }
  }

  private save (): void {
    sessionStorage.setItem(this.key, JSON.stringify([...this.receipts.values()]))
  }
}

function toHeld (stored: StoredReceipt): HeldReceipt {
  return { jobKey: stored.jobKey, jobId: stored.jobId, requester: stored.requester, cumulativeWei: BigInt(stored.cumulativeWei), paidWei: BigInt(stored.paidWei), state: stored.state }
}
