import { jobEscrowAbi } from './abi.ts'
import { confirmedBlock } from './ledgerClient.ts'
import type { ChainReader } from './ledgerClient.ts'
import type { Address } from 'viem'

/** A requester's payment line to one provider, as the escrow holds it. */
export interface PaymentLine {
  /** What the requester set aside for the provider in all: receipts up to it are paid whatever happens. */
  readonly reserved: bigint
  /** What the provider was paid on the line in all, by its claims or by settlements. */
  readonly paid: bigint
  /** 0, or the chain time (Unix seconds) from which the requester may take back what is reserved and unpaid. */
  readonly releaseAt: bigint
}

/** The line from `requester` to `provider`, the client's confirmations deep (all zero before its first use). */
export async function readLine (client: ChainReader, requester: Address, provider: Address): Promise<PaymentLine> {
  const [reserved, paid, releaseAt] = await client.public.readContract({ address: client.info.escrow, abi: jobEscrowAbi, functionName: 'lines', args: [requester, provider], ...await confirmedBlock(client) })
  return { reserved, paid, releaseAt: BigInt(releaseAt) }
}
