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

const { Point } = secp256k1
type CurvePoint = InstanceType<typeof Point>

/**
 * Public keys seen recently, as curve points, by how often each was used since it came in. A key
 * verified PRECOMPUTE_AFTER times (a provider whose results a requester checks, the requester whose
 * assignments a provider checks) gets multiplication tables: it then verifies in about 0.7 ms
 * instead of 1.3 ms; one seen now and then (another node's offer, renewed every few minutes) never
 * does. Tables of 4-bit windows take about 120 KB and 8 ms to build. Every key used to get 8-bit
 * ones (0.5 ms a verification), at 740 KB and 50–70 ms each: a node that checked 500 providers'
 * offers held about 370 MB of them and spent half a minute building them.
 */
const knownKeys = new Map<string, { readonly point: CurvePoint, uses: number }>()
const KNOWN_KEYS_MAX = 512
/** Verifications that pay for a key's tables (each saves about 0.6 ms). */
export const PRECOMPUTE_AFTER = 16
const PRECOMPUTE_WINDOW = 4

function pointOf (publicKey: Uint8Array): CurvePoint {
  const id = bytesToHex(publicKey)
  let known = knownKeys.get(id)
  if (known === undefined) {
    known = { point: Point.fromBytes(publicKey), uses: 0 }
    if (knownKeys.size >= KNOWN_KEYS_MAX) knownKeys.delete(knownKeys.keys().next().value!)
  } else {
    knownKeys.delete(id) // re-inserted below: the map's order is the keys' last use
  }
  knownKeys.set(id, known)
  if (++known.uses === PRECOMPUTE_AFTER) known.point.precompute(PRECOMPUTE_WINDOW, false)
  return known.point
}

/**
 * True when `signature` over `digest` was made by the key behind `publicKey` (33 or 65 bytes).
 * Standard ECDSA verification (low-s only, as Ethereum requires), with the key's tables once it has them.
 */
export function verifyDigest (publicKey: Uint8Array, digest: Uint8Array, signature: Hex): boolean {
  try {
    const bytes = hexToBytes(signature)
    if (bytes.length !== 65 || digest.length !== 32) return false
    const { Fn } = Point
    const r = bytesToBigInt(bytes.subarray(0, 32))
    const s = bytesToBigInt(bytes.subarray(32, 64))
    if (r === 0n || r >= Fn.ORDER || s === 0n || s > Fn.ORDER >> 1n) return false
    const w = Fn.inv(s)
    const u1 = Fn.mul(Fn.create(bytesToBigInt(digest)), w)
    const u2 = Fn.mul(r, w)
    const R = Point.BASE.multiplyUnsafe(u1).add(pointOf(publicKey).multiplyUnsafe(u2))
    return !R.is0() && Fn.create(R.toAffine().x) === r
  } catch {
    return false
  }
}

function bytesToBigInt (bytes: Uint8Array): bigint {
  return BigInt(bytesToHex(bytes))
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
