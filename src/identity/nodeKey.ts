import { generateKeyPair, privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { privateKeyToAddress } from 'viem/accounts'
import { bytesToHex } from 'viem'
import type { PrivateKey, PeerId } from '@libp2p/interface'
import type { Address, Hex } from 'viem'

/**
 * A node's one key: the same secp256k1 secret is its libp2p PeerId and its Ethereum address,
 * so a peer's on-chain account is provable from its network identity.
 */
export interface NodeKey {
  /** The libp2p form, handed to the libp2p host. */
  readonly privateKey: PrivateKey
  readonly peerId: PeerId
  /** The Ethereum form (checksummed), which receives payments. */
  readonly address: Address
  /** The 32-byte secret, for signing. */
  readonly secret: Uint8Array
}

export async function generateNodeKey (): Promise<NodeKey> {
  const privateKey = await generateKeyPair('secp256k1')
  return nodeKeyFromSecret(privateKey.raw)
}

export function nodeKeyFromSecret (secret: Uint8Array): NodeKey {
  if (secret.length !== 32) throw new TypeError(`a node key is 32 bytes, got ${secret.length}`)
  const privateKey = privateKeyFromRaw(secret)
  return {
    privateKey,
    peerId: peerIdFromPrivateKey(privateKey),
    address: privateKeyToAddress(bytesToHex(secret) as Hex),
    secret: Uint8Array.from(secret),
  }
}
