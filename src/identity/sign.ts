import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex, hexToBytes } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import type { PeerId } from '@libp2p/interface'
import type { Address, Hex } from 'viem'

/**
 * JSON with object keys sorted at every level, so that signer and verifier hash the same bytes
 * whatever order a message's fields were built or decoded in.
 */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('cannot sign a non-finite number')
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

/**
 * The 32-byte digest a node signs. The domain (e.g. "conun/offer/1") separates message kinds, so a
 * signature over one kind can never be replayed as another.
 */
export function signingDigest (domain: string, body: unknown): Uint8Array {
  return keccak_256(new TextEncoder().encode(`${domain}\n${canonicalJson(body)}`))
}

/** Signs a digest; the 65-byte r‖s‖v form is what Ethereum's ecrecover accepts. */
export function signDigest (secret: Uint8Array, digest: Uint8Array): Hex {
  const recovered = secp256k1.sign(digest, secret, { prehash: false, format: 'recovered' })
  const rs = recovered.subarray(1)
  const v = 27 + recovered[0]!
  return bytesToHex(Uint8Array.from([...rs, v]))
}

/** True when `signature` over `digest` was made by the key behind `publicKey` (33 or 65 bytes). */
export function verifyDigest (publicKey: Uint8Array, digest: Uint8Array, signature: Hex): boolean {
  try {
    const bytes = hexToBytes(signature)
    if (bytes.length !== 65) return false
    return secp256k1.verify(bytes.subarray(0, 64), digest, publicKey, { prehash: false, lowS: true })
  } catch {
    return false
  }
}

/** The Ethereum address that made `signature` over `digest`. */
export function recoverSigner (digest: Uint8Array, signature: Hex): Address {
  const bytes = hexToBytes(signature)
  if (bytes.length !== 65) throw new TypeError('a signature is 65 bytes')
  const recovered = Uint8Array.from([bytes[64]! - 27, ...bytes.subarray(0, 64)])
  const publicKey = secp256k1.recoverPublicKey(recovered, digest, { prehash: false })
  return publicKeyToAddress(bytesToHex(secp256k1.Point.fromBytes(publicKey).toBytes(false)))
}

/** A secp256k1 peer's public key (its PeerId embeds it); undefined for other key types. */
export function publicKeyOfPeer (peerId: PeerId): Uint8Array | undefined {
  return peerId.type === 'secp256k1' ? peerId.publicKey.raw : undefined
}

/** The Ethereum address of a secp256k1 peer. */
export function addressOfPeer (peerId: PeerId): Address | undefined {
  const publicKey = publicKeyOfPeer(peerId)
  if (publicKey === undefined) return undefined
  return publicKeyToAddress(bytesToHex(secp256k1.Point.fromBytes(publicKey).toBytes(false)))
}
