import type { SignedOffer } from '../net/index.ts'

/** The newest verified offer of each provider this node has heard of, until it expires. */
export class OfferBook {
  private readonly offers = new Map<string, SignedOffer>()
  private readonly listeners = new Set<(offer: SignedOffer) => void>()

  /** Keeps `offer` if it is newer than what we hold; returns whether it was kept. */
  upsert (offer: SignedOffer): boolean {
    const known = this.offers.get(offer.body.peerId)
    if (known !== undefined && known.body.issuedAt >= offer.body.issuedAt) return false
    this.offers.set(offer.body.peerId, offer)
    for (const listener of this.listeners) listener(offer)
    return true
  }

  remove (peerId: string): void {
    this.offers.delete(peerId)
  }

  get (peerId: string, now = Date.now()): SignedOffer | undefined {
    const offer = this.offers.get(peerId)
    return offer !== undefined && offer.body.expiresAt > now ? offer : undefined
  }

  /** Current offers; expired ones are dropped on the way. */
  list (now = Date.now()): SignedOffer[] {
    const live: SignedOffer[] = []
    for (const [peerId, offer] of this.offers) {
      if (offer.body.expiresAt <= now) this.offers.delete(peerId)
      else live.push(offer)
    }
    return live
  }

  /** Calls `listener` for every new or refreshed offer; returns the unsubscribe function. */
  onOffer (listener: (offer: SignedOffer) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
