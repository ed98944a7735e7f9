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
  return readJobAt(client, jobKey, await confirmedBlock(client))
}

/**
 * A provider's reservation in a job and what it was paid so far, by its claims or by the final
 * settlement. A settlement that paid every reservation writes no share, so that is read from the
 * provider's last Claimed event.
 */
export async function readEscrowShare (client: ChainReader, jobKey: Hex, provider: Address): Promise<EscrowShare> {
  const at = await confirmedBlock(client)
  const [job, [reserved, claimed]] = await Promise.all([
    readJobAt(client, jobKey, at),
    client.public.readContract({ address: client.info.escrow, abi: jobEscrowAbi, functionName: 'shares', args: [jobKey, provider], ...at }),
  ])
  if (!job.finalized || job.paid !== job.reserved) return { reserved, claimed }
  const paid = await readLastClaim(client, jobKey, provider, 'blockNumber' in at ? at.blockNumber : await client.public.getBlockNumber())
  return { reserved: paid, claimed: paid }
}

async function readJobAt (client: ChainReader, jobKey: Hex, at: Awaited<ReturnType<typeof confirmedBlock>>): Promise<EscrowJob> {
  const [requester, budget, reserved, paid, deadline, finalized, closed] = await client.public.readContract({ address: client.info.escrow, abi: jobEscrowAbi, functionName: 'jobs', args: [jobKey], ...at })
  return { requester, budget, reserved, paid, deadline: BigInt(deadline), finalized, closed, unreserved: budget - reserved }
}

/** Blocks asked for in one eth_getLogs: public RPC endpoints refuse wide ranges (and so does a node's provide proxy). */
export const LOG_RANGE = 2_000n

/**
 * The spec hash a job was opened with (the escrow keeps it in the JobOpened event, not in storage).
 * Read from the head backwards in bounded ranges, down to the escrow's deployment block at most:
 * the jobs asked about are recent, so the first range almost always holds them.
 */
export async function readJobSpecHash (client: ChainReader, jobKey: Hex): Promise<Hex | undefined> {
  for (const [fromBlock, toBlock] of rangesBack(client, await client.public.getBlockNumber())) {
    const logs = await client.public.getContractEvents({ address: client.info.escrow, abi: jobEscrowAbi, eventName: 'JobOpened', args: { jobKey }, fromBlock, toBlock, strict: true })
    if (logs[0] !== undefined) return logs[0].args.specHash
  }
  return undefined
}

/** What the escrow paid a provider of a job in all (its last Claimed event), read back to the job's opening at most. */
async function readLastClaim (client: ChainReader, jobKey: Hex, provider: Address, head: bigint): Promise<bigint> {
  for (const [fromBlock, toBlock] of rangesBack(client, head)) {
    const range = { address: client.info.escrow, abi: jobEscrowAbi, fromBlock, toBlock, strict: true } as const
    const [claims, opened] = await Promise.all([
      client.public.getContractEvents({ ...range, eventName: 'Claimed', args: { jobKey, provider } }),
      client.public.getContractEvents({ ...range, eventName: 'JobOpened', args: { jobKey } }),
    ])
    const last = claims.at(-1)
    if (last !== undefined) return last.args.cumulativeAmount
    if (opened.length > 0) return 0n
  }
  return 0n
}

/** Block ranges of at most LOG_RANGE from `head` back to the escrow's deployment block. */
function * rangesBack (client: ChainReader, head: bigint): Generator<[bigint, bigint]> {
  const floor = client.info.deploymentBlock
  for (let toBlock = head; toBlock >= floor; toBlock -= LOG_RANGE) {
    yield [toBlock - LOG_RANGE + 1n > floor ? toBlock - LOG_RANGE + 1n : floor, toBlock]
  }
}
