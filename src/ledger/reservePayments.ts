import { jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

/**
 * The requester raises what the escrow holds for each provider to `amount` (one transaction for all
 * of them). A receipt is paid up to its provider's reservation whatever else happens to the job, and
 * the contract keeps the reservations together within the budget.
 */
export async function reservePayments (client: LedgerClient, jobKey: Hex, reservations: ReadonlyArray<{ provider: Address, amount: bigint }>): Promise<SentTransaction> {
  return sendContract(client, {
    address: client.info.escrow,
    abi: jobEscrowAbi,
    functionName: 'reserve',
    args: [jobKey, reservations.map(entry => entry.provider), reservations.map(entry => entry.amount)],
  })
}
