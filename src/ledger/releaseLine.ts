import { jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import { readLine } from './readLine.ts'
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

/** Seconds until the announced release of the line to `provider` may be done, by the chain's clock; undefined when none was announced. */
export async function releaseWait (client: LedgerClient, provider: Address): Promise<bigint | undefined> {
  const [line, head] = await Promise.all([readLine(client, client.account.address, provider), client.public.getBlock()])
  if (line.releaseAt === 0n) return undefined
  return line.releaseAt > head.timestamp ? line.releaseAt - head.timestamp : 0n
}
