import { jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import { readEscrowJob } from './readEscrowJob.ts'
import type { ChainReader, LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

/**
 * The requester closes a job: records the result root, pays every provider up to what it is owed
 * (one transaction for all of them) and takes back what no provider has reserved. What is reserved
 * and unpaid stays claimable for the escrow's CLAIM_GRACE.
 */
export async function finalizeJob (client: LedgerClient, jobKey: Hex, resultRoot: Hex, owed: ReadonlyArray<{ provider: Address, cumulativeAmount: bigint }>): Promise<SentTransaction> {
  // The escrow takes the providers in ascending order, which is how it refuses one listed twice.
  const ascending = [...owed].sort((a, b) => compareAddresses(a.provider, b.provider))
  return sendContract(client, {
    address: client.info.escrow,
    abi: jobEscrowAbi,
    functionName: 'finalize',
    args: [jobKey, resultRoot, ascending.map(entry => entry.provider), ascending.map(entry => entry.cumulativeAmount)],
  })
}

function compareAddresses (a: Address, b: Address): number {
  const [x, y] = [BigInt(a), BigInt(b)]
  return x < y ? -1 : x > y ? 1 : 0
}

/** CLAIM_GRACE after the deadline or the final settlement: what is unpaid goes back to the requester. */
export async function refundJob (client: LedgerClient, jobKey: Hex): Promise<SentTransaction> {
  return sendContract(client, { address: client.info.escrow, abi: jobEscrowAbi, functionName: 'refund', args: [jobKey] })
}

/** Seconds until `refund` may be called for the job, by the chain's clock (0: now). */
export async function refundWait (client: ChainReader, jobKey: Hex): Promise<bigint> {
  const [job, grace, head] = await Promise.all([
    readEscrowJob(client, jobKey),
    client.public.readContract({ address: client.info.escrow, abi: jobEscrowAbi, functionName: 'CLAIM_GRACE' }),
    client.public.getBlock(),
  ])
  const at = job.deadline + grace
  return at > head.timestamp ? at - head.timestamp : 0n
}
