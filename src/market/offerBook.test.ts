import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateNodeKey } from '../identity/index.ts'
import { createOffer } from './offer.ts'
import { MAX_OFFERS, OfferBook } from './offerBook.ts'
import type { NodeKey } from '../identity/index.ts'
import type { OfferTerms } from './offer.ts'

const TERMS: OfferTerms = { chainId: 31337, runtimes: ['wasi'], cores: 2, memoryBytes: 1 << 30, cpuModel: 'x', pricePerTaskWei: '0', addrs: [] }
const now = 1_800_000_000_000
const keys = (count: number) => Promise.all(Array.from({ length: count }, () => generateNodeKey()))
const peersIn = (book: OfferBook, at = now) => new Set(book.list(at).map(offer => offer.body.peerId))

test('a sybil flood fills the book to its bound, and no further', async () => {
  assert.ok(MAX_OFFERS >= 300, 'every peer a node can be connected to fits')
  const book = new OfferBook({ maxOffers: 16 })
  const sybils = await keys(40)
  const kept = sybils.map(key => book.upsert(createOffer(key, TERMS, 600_000, now), now))
  assert.equal(kept.filter(Boolean).length, 16)
  assert.equal(book.list(now).length, 16)
})

test('in a full book, a connected provider takes the place of the unconnected offer that expires first; others wait for room', async () => {
  const [real, gossiped, ...sybils] = await keys(6) as [NodeKey, NodeKey, ...NodeKey[]]
  const connected = new Set([real.peerId.toString()])
  const book = new OfferBook({ maxOffers: 4, isConnected: peerId => connected.has(peerId) })
  sybils.forEach((key, i) => book.upsert(createOffer(key, TERMS, 300_000 + i * 1000, now), now))

  assert.equal(book.upsert(createOffer(gossiped, TERMS, 60_000, now), now), false, 'an unconnected newcomer waits')
  assert.equal(book.upsert(createOffer(real, TERMS, 60_000, now), now), true)
  assert.deepEqual(peersIn(book), new Set([real, ...sybils.slice(1)].map(key => key.peerId.toString())))
  // A provider in the book refreshes its offer whatever the book holds.
  const sybil = sybils[3]!
  assert.equal(book.upsert(createOffer(sybil, TERMS, 300_000, now + 10_000), now + 10_000), true)
  // Once offers expire, there is room for anyone again.
  const later = now + 301_500
  assert.equal(book.upsert(createOffer(gossiped, TERMS, 60_000, later), later), true)
  assert.ok(peersIn(book, later).has(gossiped.peerId.toString()))
})

test('offers of connected providers are never evicted, even for another connected one', async () => {
  const providers = await keys(3)
  const book = new OfferBook({ maxOffers: 2, isConnected: () => true })
  assert.deepEqual(providers.map(key => book.upsert(createOffer(key, TERMS, 60_000, now), now)), [true, true, false])
})
