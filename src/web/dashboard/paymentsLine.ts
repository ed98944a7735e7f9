import { formatUnits } from 'viem'
import type { PaymentStatus } from '../../requester/index.ts'

/** Escrow, owed and paid amounts in CON (18 decimals), the gas spent, and the escrow's state. */
export function paymentsLine (payment: PaymentStatus | null): string {
  if (payment === null) return 'payments: none (this job runs unpaid)'
  const con = (wei: string) => `${formatUnits(BigInt(wei), 18)} CON`
  const error = payment.error === undefined ? '' : ` · ${payment.error}`
  // Pay reserved ahead for a provider that then did less stays claimable for a day before it comes back.
  const state = payment.state === 'refund-pending' ? 'finalized · what was reserved ahead and not earned comes back after the claim window' : payment.state
  return `payments (${state}): escrow ${con(payment.escrowWei)} · owed ${con(payment.owedWei)} · paid ${con(payment.paidWei)} · gas ${BigInt(payment.gasUsed).toLocaleString('en')} in ${payment.txCount} tx${error}`
}
