import { keccak256, toBytes } from 'viem'
import { jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

/** The id a requester's job has in the escrow's JobSettled event: bytes32 of the requester's address and its local job id. */
export function onchainJobId (requester: Hex, localJobId: string): Hex {
  return keccak256(toBytes(`conun/job/1\n${requester.toLowerCase()}\n${localJobId}`))
}

/**
 * The requester settles a job: records its result root and pays each of its providers up to the
 * total owed on their line (one transaction for all of them), raising a line's reservation to
 * `reserveTo` where given and more (pay reserved ahead for the provider's next job); what the lines
 * need beyond their reservations comes from the standing balance.
 */
export async function settleJob (client: LedgerClient, jobId: Hex, resultRoot: Hex, owed: ReadonlyArray<{ provider: Address, cumulativeAmount: bigint, reserveTo?: bigint }>): Promise<SentTransaction> {
  return sendContract(client, {
    address: client.info.escrow,
    abi: jobEscrowAbi,
    functionName: 'settle',
    args: [jobId, resultRoot, owed.map(entry => entry.provider), owed.map(entry => entry.cumulativeAmount), owed.map(entry => entry.reserveTo ?? 0n)],
  })
}
