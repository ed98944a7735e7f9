import { jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

/**
 * Submits a requester's signed cumulative receipt; the escrow pays `provider` what it adds, up to
 * what the requester's line to the provider holds.
 */
export async function claimPayment (client: LedgerClient, claim: { requester: Address, provider: Address, cumulativeAmount: bigint, signature: Hex }): Promise<SentTransaction> {
  return sendContract(client, {
    address: client.info.escrow,
    abi: jobEscrowAbi,
    functionName: 'claim',
    args: [claim.requester, claim.provider, claim.cumulativeAmount, claim.signature],
  })
}
