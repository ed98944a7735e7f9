import { formatUnits } from 'viem'
import type { PaymentStatus } from '../../requester/index.ts'

/** Budget, owed and paid amounts in CON (18 decimals), the gas spent, and the payment's state. */
export function paymentsLine (payment: PaymentStatus | null): string {
  if (payment === null) return 'payments: none (this job runs unpaid)'
  const con = (wei: string) => `${formatUnits(BigInt(wei), 18)} CON`
  const error = payment.error === undefined ? '' : ` · ${payment.error}`
  return `payments (${payment.state}): budget ${con(payment.escrowWei)} · owed ${con(payment.owedWei)} · paid ${con(payment.paidWei)} · gas ${BigInt(payment.gasUsed).toLocaleString('en')} in ${payment.txCount} tx${error}`
}
