import { peerIdFromString } from '@libp2p/peer-id'
import { addressOfPeer } from '../identity/index.ts'
import { assertSignedBy, signBody, SIGNING_DOMAIN, WireError } from '../net/index.ts'
import type { NodeKey } from '../identity/index.ts'
import type { OfferBody, SignedOffer } from '../net/index.ts'

export type OfferTerms = Omit<OfferBody, 'peerId' | 'provider' | 'issuedAt' | 'expiresAt'>

/** A provider's signed statement of what it lends and at what price, valid for `ttlMs`. */
export function createOffer (key: NodeKey, terms: OfferTerms, ttlMs: number, now = Date.now()): SignedOffer {
  const body: OfferBody = { ...terms, peerId: key.peerId.toString(), provider: key.address, issuedAt: now, expiresAt: now + ttlMs }
  return { type: 'offer', v: 1, body, signature: signBody(key.secret, SIGNING_DOMAIN.offer, body) }
}

/**
 * Checks that an offer was signed by the peer it names, that the payout address is that peer's own
 * key, and that it has not expired. Throws WireError otherwise.
 */
export function verifyOffer (offer: SignedOffer, chainId: number, now = Date.now()): void {
  let signer
  try {
    signer = peerIdFromString(offer.body.peerId)
  } catch {
    throw new WireError('schema', `offer names an invalid peer id ${offer.body.peerId}`)
  }
  assertSignedBy(signer, SIGNING_DOMAIN.offer, offer.body, offer.signature)
  if (addressOfPeer(signer)?.toLowerCase() !== offer.body.provider.toLowerCase()) {
    throw new WireError('bad-signature', `offer pays ${offer.body.provider}, which is not the key of ${offer.body.peerId}`)
  }
  if (offer.body.chainId !== chainId) throw new WireError('unexpected', `offer is for chain ${offer.body.chainId}, this node is on ${chainId}`)
  if (offer.body.expiresAt <= now) throw new WireError('unexpected', 'offer has expired')
}
