import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateNodeKey } from '../identity/index.ts'
import { WireError } from '../net/index.ts'
import { createOffer, MAX_CLOCK_SKEW_MS, MAX_OFFER_LIFETIME_MS, verifyOffer } from './offer.ts'
import type { OfferTerms } from './offer.ts'

const TERMS: OfferTerms = { chainId: 31337, runtimes: ['wasi'], cores: 2, memoryBytes: 1 << 30, cpuModel: 'x', pricePerTaskWei: '0', addrs: [] }
const now = 1_800_000_000_000

test('a provider\'s offer verifies, with its clock somewhat ahead of ours', async () => {
  const key = await generateNodeKey()
  verifyOffer(createOffer(key, TERMS, 60_000, now), 31337, now)
  verifyOffer(createOffer(key, TERMS, 60_000, now + MAX_CLOCK_SKEW_MS), 31337, now)
  verifyOffer(createOffer(key, TERMS, MAX_OFFER_LIFETIME_MS, now), 31337, now)
})

test('offers that would sit in offer books for long are refused: far expiry, or issued in the future', async () => {
  const key = await generateNodeKey()
  const refused = (offer: ReturnType<typeof createOffer>, message: RegExp) =>
    assert.throws(() => verifyOffer(offer, 31337, now), (error: unknown) => error instanceof WireError && error.code === 'unexpected' && message.test(error.message))
  refused(createOffer(key, TERMS, 365 * 24 * 3600_000, now), /expires 31536000000 ms ahead, more than the 600000 ms allowed/)
  refused(createOffer(key, TERMS, MAX_OFFER_LIFETIME_MS + 1, now), /more than the 600000 ms allowed/)
  refused(createOffer(key, TERMS, 60_000, now + 3600_000), /issued 3600000 ms in the future/)
  refused(createOffer(key, TERMS, 60_000, now - 60_000), /expired/)
})
