import { jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address } from 'viem'

/** Announces that the requester takes back what its line to `provider` holds unpaid, after the escrow's RELEASE_NOTICE. */
export async function announceRelease (client: LedgerClient, provider: Address): Promise<SentTransaction> {
  return sendContract(client, { address: client.info.escrow, abi: jobEscrowAbi, functionName: 'announceRelease', args: [provider] })
}

/** Once the notice is over, moves what the line to `provider` holds unpaid back to the requester's standing balance. */
export async function releaseLine (client: LedgerClient, provider: Address): Promise<SentTransaction> {
  return sendContract(client, { address: client.info.escrow, abi: jobEscrowAbi, functionName: 'release', args: [provider] })
}
