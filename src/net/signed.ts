import { publicKeyOfPeer, signDigest, signingDigest, verifyDigest } from '../identity/index.ts'
import { WireError } from './errors.ts'
import type { PeerId } from '@libp2p/interface'
import type { Hex } from 'viem'

/** Signs a message body for a signing domain with the node's secret key. */
export function signBody (secret: Uint8Array, domain: string, body: unknown): Hex {
  return signDigest(secret, signingDigest(domain, body))
}

/** Throws WireError('bad-signature') unless `signer` signed `body` under `domain`. */
export function assertSignedBy (signer: PeerId, domain: string, body: unknown, signature: string): void {
  const publicKey = publicKeyOfPeer(signer)
  if (publicKey === undefined) throw new WireError('bad-signature', `peer ${signer.toString()} has no secp256k1 key`)
  if (!verifyDigest(publicKey, signingDigest(domain, body), signature as Hex)) {
    throw new WireError('bad-signature', `signature on ${domain} does not match peer ${signer.toString()}`)
  }
}
