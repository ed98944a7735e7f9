/**
 * A tab's receipts, kept with its session key in sessionStorage: they outlive the tab's pauses and
 * reloads (each start of the provider reads them), one book per escrow deployment and payout
 * address (see escrowDeployment), one receipt per requester (its payment line).
 */
import type { HeldReceipt, ReceiptBook } from '../../provider/index.ts'
import type { Address, Hex } from 'viem'

/** As stored: amounts as decimal strings. */
interface StoredReceipt {
  requester: Address
  jobId: string
  cumulativeWei: string
  paidWei: string
  state: HeldReceipt['state']
  signature: Hex
  updatedAt: number
}

export class TabReceiptBook implements ReceiptBook {
  private readonly key: string
  /** By requester address, in lower case. */
  private readonly receipts: Map<string, StoredReceipt>

  constructor (chain: { chainId: number, escrow: Address, deployment: string }, payout: Address) {
    this.key = `conun.receipts.${chain.chainId}.${chain.escrow.toLowerCase()}.${chain.deployment.toLowerCase()}.${payout.toLowerCase()}`
    const kept = JSON.parse(sessionStorage.getItem(this.key) ?? '[]') as StoredReceipt[]
    this.receipts = new Map(kept.map(receipt => [receipt.requester.toLowerCase(), receipt]))
  }

  held (requester: Address): (HeldReceipt & { signature: Hex }) | undefined {
    const stored = this.receipts.get(requester.toLowerCase())
    return stored === undefined ? undefined : { ...toHeld(stored), signature: stored.signature }
  }

  keep (receipt: { requester: Address, jobId: string, cumulativeWei: bigint, signature: Hex }): void {
    const paidWei = this.receipts.get(receipt.requester.toLowerCase())?.paidWei ?? '0'
    this.receipts.set(receipt.requester.toLowerCase(), { ...receipt, cumulativeWei: String(receipt.cumulativeWei), paidWei, state: 'open', updatedAt: Date.now() })
    this.save()
  }

  paid (requester: Address, paidWei: bigint, state: HeldReceipt['state']): void {
    const stored = this.receipts.get(requester.toLowerCase())
    if (stored === undefined) return
    this.receipts.set(requester.toLowerCase(), { ...stored, paidWei: String(paidWei), state, updatedAt: Date.now() })
    this.save()
  }

  open (): Address[] {
    return [...this.receipts.values()].filter(receipt => receipt.state === 'open').map(receipt => receipt.requester)
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
  return { requester: stored.requester, jobId: stored.jobId, cumulativeWei: BigInt(stored.cumulativeWei), paidWei: BigInt(stored.paidWei), state: stored.state }
}
