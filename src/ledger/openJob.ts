import { encodeAbiParameters, keccak256, toBytes } from 'viem'
import { jobEscrowAbi } from './abi.ts'
import { signPermit } from './permit.ts'
import { sendContract } from './ledgerClient.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

export interface OpenJobParams {
  /** The requester's id for the job (see onchainJobId); the escrow keys it by jobKeyOf(requester, jobId). */
  readonly jobId: Hex
  readonly specHash: Hex
  readonly budget: bigint
  /** Unix seconds after which (plus the grace period) the requester may take back what is unclaimed. */
  readonly deadline: bigint
}

/** A requester's id for its job in the escrow: bytes32 of the requester's address and its local job id. */
export function onchainJobId (requester: Hex, localJobId: string): Hex {
  return keccak256(toBytes(`conun/job/1\n${requester.toLowerCase()}\n${localJobId}`))
}

/**
 * The key the escrow files a job under (its jobKey()): the id together with the requester that
 * opened it, so nobody else can open, block or take over a requester's job by using its id first.
 */
export function jobKeyOf (requester: Address, jobId: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [requester, jobId]))
}

/**
 * Locks a job's budget in the escrow in one transaction: the requester signs an EIP-2612 permit
 * off chain, and openJobWithPermit spends it. Returns the job's key with the transaction.
 */
export async function openJob (client: LedgerClient, params: OpenJobParams): Promise<SentTransaction & { jobKey: Hex }> {
  const { r, s, v } = await signPermit(client, params.budget, params.deadline)
  const sent = await sendContract(client, {
    address: client.info.escrow,
    abi: jobEscrowAbi,
    functionName: 'openJobWithPermit',
    args: [params.jobId, params.specHash, params.budget, Number(params.deadline), params.deadline, v, r, s],
  })
  return { ...sent, jobKey: jobKeyOf(client.account.address, params.jobId) }
}

/**
 * Opens a job with its budget taken from the requester's standing balance in the escrow (see
 * depositToEscrow): no token moves, so it costs far less gas than openJob.
 */
export async function openJobFromBalance (client: LedgerClient, params: OpenJobParams): Promise<SentTransaction & { jobKey: Hex }> {
  const sent = await sendContract(client, {
    address: client.info.escrow,
    abi: jobEscrowAbi,
    functionName: 'openJobFromBalance',
    args: [params.jobId, params.specHash, params.budget, Number(params.deadline)],
  })
  return { ...sent, jobKey: jobKeyOf(client.account.address, params.jobId) }
}
