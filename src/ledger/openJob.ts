import { encodeAbiParameters, hexToSignature, keccak256, toBytes } from 'viem'
import { conunTokenAbi, jobEscrowAbi } from './abi.ts'
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
  const { token, escrow, chainId } = client.info
  const nonce = await client.public.readContract({ address: token, abi: conunTokenAbi, functionName: 'nonces', args: [client.account.address] })
  const permitDeadline = params.deadline
  const signature = await client.wallet.signTypedData({
    domain: { name: 'Conun', version: '1', chainId, verifyingContract: token },
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    message: { owner: client.account.address, spender: escrow, value: params.budget, nonce, deadline: permitDeadline },
  })
  const { r, s, v } = hexToSignature(signature)
  const sent = await sendContract(client, {
    address: escrow,
    abi: jobEscrowAbi,
    functionName: 'openJobWithPermit',
    args: [params.jobId, params.specHash, params.budget, Number(params.deadline), permitDeadline, Number(v), r, s],
  })
  return { ...sent, jobKey: jobKeyOf(client.account.address, params.jobId) }
}
