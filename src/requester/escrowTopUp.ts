import { formatCon, LedgerError } from '../ledger/index.ts'
import { HEADROOM_PERCENT } from './reservationsDue.ts'

/**
 * What a requester keeps in its standing balance in the escrow by default: a deposit is a token
 * transfer and a permit (about 60,000 gas), so it tops the balance up by at least this much, enough
 * for several jobs, rather than by each job's budget (README: "escrowTopUpWei").
 */
export const DEFAULT_ESCROW_TOP_UP_WEI = 100n * 10n ** 18n

/**
 * How much to deposit before opening a job of `budget` when `free` of the standing balance is held
 * by no job and the wallet holds `wallet`: nothing while the balance covers the budget, otherwise
 * at least the shortfall and up to `topUp` (never more than the wallet holds). A wallet short of
 * the shortfall is a LedgerError (the API's 402 payment-failed), before any transaction.
 */
export function depositDue (free: bigint, budget: bigint, topUp: bigint, wallet: bigint): bigint {
  if (free >= budget) return 0n
  const shortfall = budget - free
  if (wallet < shortfall) throw new LedgerError(`the job's budget needs ${formatCon(shortfall)} more in the escrow than the ${formatCon(free)} free there, and the wallet holds only ${formatCon(wallet)} (a budget left to its default is the job's cost and ${HEADROOM_PERCENT} % more: the job spec's \`budget\` can be as low as the cost)`)
  const wanted = topUp > shortfall ? topUp : shortfall
  return wanted < wallet ? wanted : wallet
}
