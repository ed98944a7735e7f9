import { jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

/**
 * The requester closes a job: records the result root, pays every provider up to what it is owed
 * (one transaction for all of them) and takes back what no provider has reserved. What is reserved
 * and unpaid stays claimable for the escrow's CLAIM_GRACE.
 */
export async function finalizeJob (client: LedgerClient, jobKey: Hex, resultRoot: Hex, owed: ReadonlyArray<{ provider: Address, cumulativeAmount: bigint }>): Promise<SentTransaction> {
  return sendContract(client, {
    address: client.info.escrow,
    abi: jobEscrowAbi,
    functionName: 'finalize',
    args: [jobKey, resultRoot, owed.map(entry => entry.provider), owed.map(entry => entry.cumulativeAmount)],
  })
}

/** CLAIM_GRACE after the deadline or the final settlement: what is unpaid goes back to the requester. */
export async function refundJob (client: LedgerClient, jobKey: Hex): Promise<SentTransaction> {
  return sendContract(client, { address: client.info.escrow, abi: jobEscrowAbi, functionName: 'refund', args: [jobKey] })
}
