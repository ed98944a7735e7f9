import { hexToSignature, keccak256, toBytes } from 'viem'
import { conunTokenAbi, jobEscrowAbi } from './abi.ts'
import { sendContract } from './ledgerClient.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Hex } from 'viem'

export interface OpenJobParams {
  /** The on-chain job id (see onchainJobId). */
  readonly jobId: Hex
  readonly specHash: Hex
  readonly budget: bigint
  /** Unix seconds after which (plus the grace period) the requester may take back what is unclaimed. */
  readonly deadline: bigint
}

/** A requester's job as the escrow knows it: bytes32 of the requester's address and its local job id. */
export function onchainJobId (requester: Hex, localJobId: string): Hex {
  return keccak256(toBytes(`conun/job/1\n${requester.toLowerCase()}\n${localJobId}`))
}

/**
 * Locks a job's budget in the escrow in one transaction: the requester signs an EIP-2612 permit
 * off chain, and openJobWithPermit spends it.
 */
export async function openJob (client: LedgerClient, params: OpenJobParams): Promise<SentTransaction> {
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
  return sendContract(client, {
    address: escrow,
    abi: jobEscrowAbi,
    functionName: 'openJobWithPermit',
    args: [params.jobId, params.specHash, params.budget, Number(params.deadline), permitDeadline, Number(v), r, s],
  })
}
