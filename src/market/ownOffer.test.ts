import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generateNodeKey } from '../identity/index.ts'
import { verifyOffer } from './offer.ts'
import { OFFER_TTL_MS, ownOffer } from './ownOffer.ts'
import type { OfferTerms } from './offer.ts'

const TERMS: OfferTerms = { chainId: 31337, runtimes: ['wasi'], cores: 1, memoryBytes: 1 << 30, cpuModel: 'test', speed: 1, pricePerTaskWei: '0', addrs: ['/ip4/127.0.0.1/tcp/4001'] }

test('a provider\'s offer is signed again only when its terms change or half its validity has passed', async () => {
  const key = await generateNodeKey()
  let terms = TERMS
  const current = ownOffer(key, () => terms)
  const t0 = 1_000_000
  const first = current(t0)
  verifyOffer(first, 31337, t0)
  assert.equal(first.body.expiresAt, t0 + OFFER_TTL_MS)
  assert.equal(current(t0 + OFFER_TTL_MS / 2 - 1), first, 'the same offer while nothing changed')
  terms = { ...TERMS, addrs: [...TERMS.addrs, '/ip4/10.0.0.1/tcp/4001/p2p-circuit'] }
  const moved = current(t0 + 1000)
  assert.notEqual(moved, first, 'a new address is signed at once')
  assert.deepEqual(moved.body.addrs, terms.addrs)
  assert.equal(current(t0 + 2000), moved)
  const renewed = current(t0 + 1000 + OFFER_TTL_MS / 2)
  assert.notEqual(renewed, moved, 'renewed at half its validity')
  assert.equal(renewed.body.issuedAt, t0 + 1000 + OFFER_TTL_MS / 2)
})
