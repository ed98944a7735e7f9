import { FramedStream, decodeFrame, encodeFrame, MAX_OFFER_FRAME_BYTES, offerMessage, openStream, PROTOCOL_OFFER, PROTOCOL_OFFER_BOOK, signedOffer, TOPIC_OFFERS, WireError } from '../net/index.ts'
import { unrefTimer } from '../util/index.ts'
import { verifyOffer } from './offer.ts'
import { fetchOfferBook, serveOfferBook } from './offerBookSync.ts'
import { serveOffers } from './serveOffers.ts'
import type { OfferBook } from './offerBook.ts'
import type { SignedOffer } from '../net/index.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PeerId } from '@libp2p/interface'

export interface OfferExchangeInit {
  /** Any libp2p host with gossipsub: a node's, or a browser provider's. */
  readonly host: Libp2p<{ pubsub: GossipSub }>
  readonly book: OfferBook
  readonly chainId: number
  /** This node's current offer, when it provides (see ownOffer.ts: the same offer until its terms change or it ages). */
  readonly ownOffer?: () => SignedOffer
  /**
   * Gather the grid's offers from the start (a node that requests, relays or bootstraps others).
   * A node that only provides has no use for them: it announces its own and starts gathering when
   * it first requests (collect()), so that it does not hear and check every other provider's renewals.
   */
  readonly collect: boolean
  readonly onRejected?: (from: string, error: WireError) => void
}

export interface OfferExchange {
  /** Asks one peer directly for its offer (the fast path after connecting). */
  query(peer: PeerId, signal?: AbortSignal): Promise<SignedOffer | undefined>
  /** Starts gathering others' offers (gossip, books, direct asks), with the peers already met; once is enough. */
  collect(): void
  stop(): Promise<void>
}

const OFFER_REFRESH_INTERVAL_MS = 10_000
/**
 * How often a provider checks whether its offer changed, or its last announcement reached nobody,
 * to announce it. An offer is signed again when its terms change or half its validity has passed
 * (ownOffer.ts), so it is announced every 2.5 minutes at idle. Every node that gathers offers
 * hears every provider's announcements and checks each one's signature, the one idle cost that
 * grows with the grid: N/150 messages a second (providers that do not request do not gather). A
 * node that joins asks its first peers for their books (offerBookSync.ts) rather than having every
 * provider announce to everybody as it joins (N messages to N nodes per joiner); connected
 * requesters ask a provider directly when its offer nears expiry (refresh below).
 */
const OFFER_CHANGE_CHECK_MS = 5_000
/** Peers a node asks for their whole offer book as it meets them: its way into the grid's offers. */
const BOOK_SOURCES = 3
const OFFER_REFRESH_BEFORE_EXPIRY_MS = 30_000
const NOT_SERVING_BACKOFF_MS = 60_000

/**
 * Moves offers between nodes: providers answer direct requests on /conun/offer/1.0.0 and announce
 * on gossipsub; requesters ask each newly identified provider directly, ask their first few peers
 * for their whole books (the offers announced before they joined) and listen to gossip for the rest
 * of the network. Every offer is verified before it enters the book.
 */
export async function startOfferExchange (init: OfferExchangeInit): Promise<OfferExchange> {
  const { host, book, chainId } = init
  const reject = (from: string, error: unknown) => {
    if (error instanceof WireError) init.onRejected?.(from, error)
  }

  function accept (offer: SignedOffer, from: string): void {
    // An offer not newer than the one held would not be kept: the announcement of an unchanged
    // offer costs no signature check (there are as many of them as providers, at every node).
    const held = book.get(offer.body.peerId)
    if (held !== undefined && held.body.issuedAt >= offer.body.issuedAt) return
    try {
      verifyOffer(offer, chainId)
      if (offer.body.peerId !== host.peerId.toString()) book.upsert(offer)
    } catch (error) {
      reject(from, error)
    }
  }

  if (init.ownOffer !== undefined) {
    const ownOffer = init.ownOffer
    await serveOffers(host, PROTOCOL_OFFER, offerMessage, 'offer.request', () => [ownOffer()], reject)
  }

  async function query (peer: PeerId, signal?: AbortSignal): Promise<SignedOffer | undefined> {
    const stream = await openStream(host, peer, PROTOCOL_OFFER, { signal })
    const framed = new FramedStream(stream, offerMessage, MAX_OFFER_FRAME_BYTES)
    try {
      await framed.write({ type: 'offer.request', v: 1 })
      const reply = await framed.read({ signal })
      if (reply.type !== 'offer') throw new WireError('unexpected', `expected an offer, got ${reply.type}`)
      if (reply.body.peerId !== peer.toString()) throw new WireError('unexpected', 'peer answered with somebody else\'s offer')
      accept(reply, peer.toString())
      return book.get(peer.toString())
    } finally {
      await framed.close()
    }
  }

  const stopServingBook = await serveOfferBook(host, book, init.ownOffer, reject)
  const bookSources = new Set<string>()
  const askForBook = (peerId: PeerId) => {
    const id = peerId.toString()
    if (bookSources.size >= BOOK_SOURCES || bookSources.has(id)) return
    bookSources.add(id)
    fetchOfferBook(host, peerId, offer => accept(offer, id), AbortSignal.timeout(10_000)).catch(error => {
      bookSources.delete(id)
      reject(id, error)
    })
  }

  // Ask each peer that serves offers directly, as soon as we learn it does (identify, or a later
  // identify push when it starts providing), instead of waiting for the next gossip round.
  const asked = new Set<string>()
  const onPeerProtocols = (peerId: PeerId, protocols: readonly string[]) => {
    if (protocols.includes(PROTOCOL_OFFER_BOOK)) askForBook(peerId)
    const id = peerId.toString()
    if (!protocols.includes(PROTOCOL_OFFER) || asked.has(id)) return
    asked.add(id)
    query(peerId, AbortSignal.timeout(5000)).catch(error => {
      asked.delete(id)
      reject(id, error)
    })
  }
  const onIdentify = (event: CustomEvent<{ peerId: PeerId, protocols: string[] }>) => onPeerProtocols(event.detail.peerId, event.detail.protocols)
  const onPeerUpdate = (event: CustomEvent<{ peer: { id: PeerId, protocols: string[] } }>) => onPeerProtocols(event.detail.peer.id, event.detail.peer.protocols)
  const onDisconnect = (event: CustomEvent<PeerId>) => asked.delete(event.detail.toString())

  const pubsub = host.services.pubsub
  const onMessage = (event: CustomEvent<{ topic: string, data: Uint8Array, from?: PeerId }>) => {
    if (event.detail.topic !== TOPIC_OFFERS) return
    const from = event.detail.from?.toString() ?? 'gossip'
    try {
      accept(decodeFrame(event.detail.data, signedOffer, MAX_OFFER_FRAME_BYTES), from)
    } catch (error) {
      reject(from, error)
    }
  }

  // Gossip is best effort: with many providers on one requester, republished offers were seen to
  // stop arriving, and a first query can fail on a busy machine. A connected provider whose offer
  // is missing or about to expire is asked again directly.
  const notServing = new Map<string, number>()
  const refreshOffers = () => {
    const soon = Date.now() + OFFER_REFRESH_BEFORE_EXPIRY_MS
    const peers = new Map(host.getConnections().map(connection => [connection.remotePeer.toString(), connection.remotePeer]))
    for (const [id, peer] of peers) {
      const offer = book.get(id)
      if (offer !== undefined && offer.body.expiresAt >= soon) continue
      // Identify can miss a provider's offer protocol (it registers after connecting, and the push
      // may be lost), so every connected peer without an offer is asked; one that turns out not
      // to serve offers is left alone for a while.
      if ((notServing.get(id) ?? 0) > Date.now()) continue
      query(peer, AbortSignal.timeout(5000)).catch(error => {
        if (offer === undefined) notServing.set(id, Date.now() + NOT_SERVING_BACKOFF_MS)
        reject(id, error)
      })
    }
  }

  let refresh: NodeJS.Timeout | undefined
  const collect = () => {
    if (refresh !== undefined) return
    host.addEventListener('peer:identify', onIdentify as never)
    host.addEventListener('peer:update', onPeerUpdate as never)
    host.addEventListener('peer:disconnect', onDisconnect as never)
    pubsub.addEventListener('message', onMessage as never)
    pubsub.subscribe(TOPIC_OFFERS)
    refresh = setInterval(refreshOffers, OFFER_REFRESH_INTERVAL_MS)
    unrefTimer(refresh)
    // The peers met before: their books and offers now, as if they had just been identified.
    for (const peer of new Set(host.getConnections().map(connection => connection.remotePeer))) {
      host.peerStore.get(peer).then(record => onPeerProtocols(peer, record.protocols), () => { /* identify will tell */ })
    }
  }
  if (init.collect) collect()

  let timer: NodeJS.Timeout | undefined
  let onAddressChange: (() => void) | undefined
  if (init.ownOffer !== undefined) {
    const ownOffer = init.ownOffer
    /** The latest offer that reached a peer: one that reached none (no peers yet, or no open gossip stream to them) is announced again. */
    let announced: SignedOffer | undefined
    const publish = () => {
      const offer = ownOffer()
      pubsub.publish(TOPIC_OFFERS, encodeFrame(offer))
        .then(({ recipients }) => { if (recipients.length > 0 && offer === ownOffer()) announced = offer })
        .catch(() => { /* tried again at the next check */ })
    }
    // New addresses (a relay slot gained or lost) reach requesters at once, not a check later.
    onAddressChange = () => publish()
    host.addEventListener('self:peer:update', onAddressChange)
    publish()
    timer = setInterval(() => {
      if (ownOffer() !== announced) publish()
    }, OFFER_CHANGE_CHECK_MS)
    unrefTimer(timer)
  }

  return {
    query,
    collect,
    async stop () {
      clearInterval(timer)
      if (onAddressChange !== undefined) host.removeEventListener('self:peer:update', onAddressChange)
      if (refresh !== undefined) {
        clearInterval(refresh)
        host.removeEventListener('peer:identify', onIdentify as never)
        host.removeEventListener('peer:update', onPeerUpdate as never)
        host.removeEventListener('peer:disconnect', onDisconnect as never)
        pubsub.removeEventListener('message', onMessage as never)
        pubsub.unsubscribe(TOPIC_OFFERS)
      }
      await stopServingBook()
      if (init.ownOffer !== undefined) await host.unhandle(PROTOCOL_OFFER)
    },
  }
}
