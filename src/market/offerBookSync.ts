import { FramedStream, MAX_OFFER_FRAME_BYTES, offerBookMessage, openStream, PROTOCOL_OFFER_BOOK, WireError } from '../net/index.ts'
import { MAX_OFFERS } from './offerBook.ts'
import { serveOffers } from './serveOffers.ts'
import type { OfferBook } from './offerBook.ts'
import type { SignedOffer } from '../net/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

/**
 * A node that joins hears offers on gossip only as they are announced, and gossip reaches only the
 * peers subscribed when a message passes; so it asks the first peers it meets for their whole book.
 * A book is up to MAX_OFFERS frames (about half a MB): a peer is sent one at most this often.
 */
const SERVE_INTERVAL_MS = 60_000
/** A book holds MAX_OFFERS offers and the node's own: a longer answer is not a book. */
const MAX_BOOK_OFFERS = MAX_OFFERS + 1

/**
 * Answers /conun/offer-book/1.0.0 with every live offer in `book` and this node's own when it
 * provides, one frame each, then closes. Returns the function that stops serving.
 */
export async function serveOfferBook (host: Libp2p, book: OfferBook, ownOffer: (() => SignedOffer) | undefined, onError: (from: string, error: unknown) => void): Promise<() => Promise<void>> {
  const servedAt = new Map<string, number>()
  await serveOffers(host, PROTOCOL_OFFER_BOOK, offerBookMessage, 'offer.book.request', from => {
    if ((servedAt.get(from) ?? -Infinity) + SERVE_INTERVAL_MS > Date.now()) throw new WireError('unexpected', `a book is sent to a peer at most every ${SERVE_INTERVAL_MS / 1000} s`)
    servedAt.set(from, Date.now())
    return ownOffer === undefined ? book.list() : [...book.list(), ownOffer()]
  }, onError)
  const forget = (event: CustomEvent<PeerId>) => servedAt.delete(event.detail.toString())
  host.addEventListener('peer:disconnect', forget)
  return async () => {
    host.removeEventListener('peer:disconnect', forget)
    await host.unhandle(PROTOCOL_OFFER_BOOK)
  }
}

/** Reads `peer`'s whole offer book, handing each offer to `accept` (which verifies it); returns how many came. */
export async function fetchOfferBook (host: Libp2p, peer: PeerId, accept: (offer: SignedOffer) => void, signal?: AbortSignal): Promise<number> {
  const stream = await openStream(host, peer, PROTOCOL_OFFER_BOOK, { signal })
  const framed = new FramedStream(stream, offerBookMessage, MAX_OFFER_FRAME_BYTES)
  try {
    await framed.write({ type: 'offer.book.request', v: 1 })
    for (let count = 0; ; count++) {
      let message
      try {
        message = await framed.read({ signal })
      } catch (error) {
        if (error instanceof WireError && error.code === 'closed') return count
        throw error
      }
      if (message.type !== 'offer') throw new WireError('unexpected', `expected an offer, got ${message.type}`)
      if (count >= MAX_BOOK_OFFERS) throw new WireError('unexpected', `a book holds at most ${MAX_BOOK_OFFERS} offers`)
      accept(message)
    }
  } finally {
    await framed.close()
  }
}
