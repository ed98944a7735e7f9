import { jobEscrowAbi } from './abi.ts'
import { confirmedBlock } from './ledgerClient.ts'
import type { ChainReader } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

export interface EscrowJob {
  /** The zero address when no such job was opened. */
  readonly requester: Address
  readonly budget: bigint
  /** The providers' reservations together. */
  readonly reserved: bigint
  readonly paid: bigint
  readonly deadline: bigint
  /** Settled by the requester; receipts within reservations can still be claimed until it is closed. */
  readonly finalized: boolean
  /** Refunded: nothing more can be claimed. */
  readonly closed: boolean
  /** What nobody has reserved yet. */
  readonly unreserved: bigint
}

/** What the escrow holds for one provider of a job, and what it has paid it. */
export interface EscrowShare {
  readonly reserved: bigint
  readonly claimed: bigint
}

/** A job's escrow as the chain holds it, the client's confirmations deep. */
export async function readEscrowJob (client: ChainReader, jobKey: Hex): Promise<EscrowJob> {
  const [requester, budget, reserved, paid, deadline, finalized, closed] = await client.public.readContract({ address: client.info.escrow, abi: jobEscrowAbi, functionName: 'jobs', args: [jobKey], ...await confirmedBlock(client) })
  return { requester, budget, reserved, paid, deadline: BigInt(deadline), finalized, closed, unreserved: budget - reserved }
}

/** A provider's reservation in a job and what it was paid so far, by its claims or by the final settlement. */
export async function readEscrowShare (client: ChainReader, jobKey: Hex, provider: Address): Promise<EscrowShare> {
  const [reserved, claimed] = await client.public.readContract({ address: client.info.escrow, abi: jobEscrowAbi, functionName: 'shares', args: [jobKey, provider], ...await confirmedBlock(client) })
  return { reserved, claimed }
}

/** Blocks asked for in one eth_getLogs: public RPC endpoints refuse wide ranges (and so does a node's provide proxy). */
export const LOG_RANGE = 2_000n

/**
 * The spec hash a job was opened with (the escrow keeps it in the JobOpened event, not in storage).
 * Read from the head backwards in bounded ranges, down to the escrow's deployment block at most:
 * the jobs asked about are recent, so the first range almost always holds them.
 */
export async function readJobSpecHash (client: ChainReader, jobKey: Hex): Promise<Hex | undefined> {
  const floor = client.info.deploymentBlock
  for (let toBlock = await client.public.getBlockNumber(); toBlock >= floor; toBlock -= LOG_RANGE) {
    const fromBlock = toBlock - LOG_RANGE + 1n > floor ? toBlock - LOG_RANGE + 1n : floor
    const logs = await client.public.getContractEvents({ address: client.info.escrow, abi: jobEscrowAbi, eventName: 'JobOpened', args: { jobKey }, fromBlock, toBlock, strict: true })
    if (logs[0] !== undefined) return logs[0].args.specHash
  }
  return undefined
}
