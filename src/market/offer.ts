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
 * How far ahead an offer may expire. Providers sign five minutes' validity and renew at half of it;
 * a long-lived offer would let a peer that stopped serving (or a sybil) sit in offer books.
 */
export const MAX_OFFER_LIFETIME_MS = 10 * 60_000
/** How far ahead of ours a provider's clock may run when it signs an offer. */
export const MAX_CLOCK_SKEW_MS = 60_000

/** The address a provider is paid at: the payout it names, or its key's own address. */
export function payoutOf (offer: Pick<OfferBody, 'provider' | 'payout'>): string {
  return offer.payout ?? offer.provider
}

/**
 * Checks that an offer was signed by the peer it names, that the address it names is that peer's
 * own key (a payout elsewhere is the signer's choice, covered by its signature), that it is not issued in the future (beyond clock skew) and that it expires within
 * MAX_OFFER_LIFETIME_MS, not before now. Throws WireError otherwise.
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
  if (offer.body.issuedAt > now + MAX_CLOCK_SKEW_MS) throw new WireError('unexpected', `offer is issued ${offer.body.issuedAt - now} ms in the future`)
  if (offer.body.expiresAt > now + MAX_OFFER_LIFETIME_MS) {
    throw new WireError('unexpected', `offer expires ${offer.body.expiresAt - now} ms ahead, more than the ${MAX_OFFER_LIFETIME_MS} ms allowed`)
  }
}
