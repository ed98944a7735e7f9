import { createOffer } from './offer.ts'
import type { OfferTerms } from './offer.ts'
import type { NodeKey } from '../identity/index.ts'
import type { SignedOffer } from '../net/index.ts'

/** How long a provider's offer is valid. Within MAX_OFFER_LIFETIME_MS; a provider that vanished leaves books by then. */
export const OFFER_TTL_MS = 5 * 60_000

/**
 * A provider's current offer, signed again only when its terms change (an address gained or lost)
 * or half its validity has passed. Every node verifies each new offer it hears of, so an offer
 * re-signed at every announcement cost each of N nodes N verifications per round; the same offer
 * announced again costs them nothing (books skip an offer not newer than theirs).
 */
export function ownOffer (key: NodeKey, terms: () => OfferTerms, ttlMs = OFFER_TTL_MS): (now?: number) => SignedOffer {
  let signed: { offer: SignedOffer, terms: string } | undefined
  return (now = Date.now()) => {
    const current = terms()
    const serialized = JSON.stringify(current)
    if (signed === undefined || signed.terms !== serialized || signed.offer.body.issuedAt + ttlMs / 2 <= now) {
      signed = { offer: createOffer(key, current, ttlMs, now), terms: serialized }
    }
    return signed.offer
  }
}
