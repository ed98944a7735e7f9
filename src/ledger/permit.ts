import { hexToSignature } from 'viem'
import { conunTokenAbi } from './abi.ts'
import type { LedgerClient } from './ledgerClient.ts'

/**
 * The requester's EIP-2612 permit letting the escrow take `value` CON until `deadline` (unix
 * seconds), signed off chain, so that the escrow call spending it is the only transaction.
 */
export async function signPermit (client: LedgerClient, value: bigint, deadline: bigint) {
  const { token, escrow, chainId } = client.info
  const nonce = await client.public.readContract({ address: token, abi: conunTokenAbi, functionName: 'nonces', args: [client.account.address] })
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
    message: { owner: client.account.address, spender: escrow, value, nonce, deadline },
  })
  const { r, s, v } = hexToSignature(signature)
  return { r, s, v: Number(v) }
}
