import type { SignedOffer } from '../net/index.ts'

/** Offers a book holds by default: well above the 300 connections a node keeps (hostOptions). */
export const MAX_OFFERS = 1024

export interface OfferBookOptions {
  /** Providers with an offer in the book at most; past that, newcomers wait or take an unconnected one's place. */
  readonly maxOffers?: number
  /** Whether this node is connected to the peer: those offers are never evicted. */
  readonly isConnected?: (peerId: string) => boolean
}

/**
 * The newest verified offer of each provider this node has heard of, until it expires. Peer ids
 * cost nothing, so the book is bounded: once full, a new provider gets in only if an offer has
 * expired or if this node is connected to it, in place of the unconnected offer that expires
 * first. A provider already in the book can always refresh its offer.
 */
export class OfferBook {
  private readonly offers = new Map<string, SignedOffer>()
  private readonly listeners = new Set<(offer: SignedOffer) => void>()
  private readonly maxOffers: number
  private readonly isConnected: (peerId: string) => boolean

  constructor (options: OfferBookOptions = {}) {
    this.maxOffers = options.maxOffers ?? MAX_OFFERS
    this.isConnected = options.isConnected ?? (() => false)
  }

  /** Keeps `offer` if it is newer than what we hold and the book has room for it; returns whether it was kept. */
  upsert (offer: SignedOffer, now = Date.now()): boolean {
    const known = this.offers.get(offer.body.peerId)
    if (known !== undefined && known.body.issuedAt >= offer.body.issuedAt) return false
    if (known === undefined && this.offers.size >= this.maxOffers && !this.makeRoom(offer.body.peerId, now)) return false
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

  /** Frees a place for `newcomer` in a full book; returns whether there is one now. */
  private makeRoom (newcomer: string, now: number): boolean {
    if (this.list(now).length < this.maxOffers) return true
    if (!this.isConnected(newcomer)) return false
    let evict: SignedOffer | undefined
    for (const offer of this.offers.values()) {
      if ((evict === undefined || offer.body.expiresAt < evict.body.expiresAt) && !this.isConnected(offer.body.peerId)) evict = offer
    }
    if (evict === undefined) return false
    this.offers.delete(evict.body.peerId)
    return true
  }
}
