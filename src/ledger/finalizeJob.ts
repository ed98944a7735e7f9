import { jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

/**
 * The requester closes a job: records the result root, pays every provider up to what it is owed
 * (one transaction for all of them) and takes back the rest of the budget.
 */
export async function finalizeJob (client: LedgerClient, jobId: Hex, resultRoot: Hex, owed: ReadonlyArray<{ provider: Address, cumulativeAmount: bigint }>): Promise<SentTransaction> {
  return sendContract(client, {
    address: client.info.escrow,
    abi: jobEscrowAbi,
    functionName: 'finalize',
    args: [jobId, resultRoot, owed.map(entry => entry.provider), owed.map(entry => entry.cumulativeAmount)],
  })
}

/** After the deadline and grace period: what is unclaimed goes back to the requester. */
export async function refundJob (client: LedgerClient, jobId: Hex): Promise<SentTransaction> {
  return sendContract(client, { address: client.info.escrow, abi: jobEscrowAbi, functionName: 'refund', args: [jobId] })
}
