import { jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address } from 'viem'

/**
 * The requester raises its lines' reservations to `amount` for each provider (one transaction for
 * all of them), from its standing balance. A receipt is paid up to its line's reservation whatever
 * the requester does afterwards.
 */
export async function reserveLines (client: LedgerClient, reservations: ReadonlyArray<{ provider: Address, amount: bigint }>): Promise<SentTransaction> {
  return sendContract(client, {
    address: client.info.escrow,
    abi: jobEscrowAbi,
    functionName: 'reserve',
    args: [reservations.map(entry => entry.provider), reservations.map(entry => entry.amount)],
  })
}
