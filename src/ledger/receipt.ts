import { hashTypedData, hexToBytes } from 'viem'
import { signDigest, verifyDigest } from '../identity/index.ts'
import type { Address, Hex } from 'viem'

/**
 * A requester's promise to a provider: "on our payment line I owe you `cumulativeAmount` in all",
 * over every job the provider did for the requester. Each new receipt raises the total, so the
 * latest one is all a provider needs to claim, and an old or replayed one pays nothing. Signed as
 * EIP-712 typed data bound to one chain and one escrow. The escrow pays it up to what the
 * requester's line to the provider holds.
 */
export interface Receipt {
  readonly chainId: number
  readonly escrow: Address
  readonly requester: Address
  readonly provider: Address
  readonly cumulativeAmount: bigint
}

const types = {
  Receipt: [
    { name: 'requester', type: 'address' },
    { name: 'provider', type: 'address' },
    { name: 'cumulativeAmount', type: 'uint256' },
  ],
} as const

/** The digest JobEscrow checks (its receiptDigest()). */
export function receiptDigest (receipt: Receipt): Hex {
  return hashTypedData({
    domain: { name: 'ConunJobEscrow', version: '5', chainId: receipt.chainId, verifyingContract: receipt.escrow },
    types,
    primaryType: 'Receipt',
    message: { requester: receipt.requester, provider: receipt.provider, cumulativeAmount: receipt.cumulativeAmount },
  })
}

export function signReceipt (secret: Uint8Array, receipt: Receipt): Hex {
  return signDigest(secret, hexToBytes(receiptDigest(receipt)))
}

/** True when `signature` is the holder of `publicKey` signing `receipt` (checked without a chain). */
export function verifyReceipt (publicKey: Uint8Array, receipt: Receipt, signature: Hex): boolean {
  return verifyDigest(publicKey, hexToBytes(receiptDigest(receipt)), signature)
}
