import { jobEscrowAbi } from './abi.ts'
import type { LedgerClient } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

export interface EscrowJob {
  /** The zero address when no such job was opened. */
  readonly requester: Address
  readonly budget: bigint
  readonly paid: bigint
  readonly deadline: bigint
  readonly closed: boolean
  readonly remaining: bigint
}

/** A job's escrow as the chain holds it now. */
export async function readEscrowJob (client: LedgerClient, jobId: Hex): Promise<EscrowJob> {
  const [requester, budget, paid, deadline, closed] = await client.public.readContract({ address: client.info.escrow, abi: jobEscrowAbi, functionName: 'jobs', args: [jobId] })
  return { requester, budget, paid, deadline: BigInt(deadline), closed, remaining: budget - paid }
}

/** The spec hash a job was opened with (the escrow keeps it in the JobOpened event, not in storage). */
export async function readJobSpecHash (client: LedgerClient, jobId: Hex): Promise<Hex | undefined> {
  const logs = await client.public.getContractEvents({ address: client.info.escrow, abi: jobEscrowAbi, eventName: 'JobOpened', args: { jobId }, fromBlock: 0n, strict: true })
  return logs[0]?.args.specHash
}

/** The most a provider was paid for a job so far: by its own claims or by the requester's final settlement. */
export async function readPaidTo (client: LedgerClient, jobId: Hex, provider: Address): Promise<bigint> {
  const logs = await client.public.getContractEvents({ address: client.info.escrow, abi: jobEscrowAbi, eventName: 'Claimed', args: { jobId, provider }, fromBlock: 0n, strict: true })
  return logs.reduce((max, log) => log.args.cumulativeAmount > max ? log.args.cumulativeAmount : max, 0n)
}
