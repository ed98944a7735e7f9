import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateNodeKey } from '../identity/index.ts'
import { signedOffer, WireError } from '../net/index.ts'
import { createOffer, MAX_CLOCK_SKEW_MS, MAX_OFFER_LIFETIME_MS, payoutOf, verifyOffer } from './offer.ts'
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

test('an offer may name a payout address of the provider\'s choosing; it is signed with the rest and must be an address', async () => {
  const key = await generateNodeKey()
  const payout = '0x00000000000000000000000000000000000000aa'
  const offer = createOffer(key, { ...TERMS, payout }, 60_000, now)
  verifyOffer(offer, 31337, now)
  assert.equal(payoutOf(offer.body), payout)
  assert.equal(payoutOf(createOffer(key, TERMS, 60_000, now).body), key.address, 'without one it is paid at its key\'s address')
  const swapped = { ...offer, body: { ...offer.body, payout: '0x00000000000000000000000000000000000000bb' } }
  assert.throws(() => verifyOffer(swapped, 31337, now), (error: unknown) => error instanceof WireError && error.code === 'bad-signature', 'a relay cannot redirect the pay')
  assert.equal(signedOffer.safeParse({ ...offer, body: { ...offer.body, payout: '0x12' } }).success, false, 'a malformed payout does not pass the wire schema')
})
