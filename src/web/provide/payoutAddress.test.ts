import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parsePayoutAddress, PayoutAddressError } from './payoutAddress.ts'

const WALLET = '0x52908400098527886E0F7030069857D2E4169EE7'

test('a payout address is taken checksummed, in any case, with blanks around it trimmed', () => {
  assert.equal(parsePayoutAddress(WALLET), WALLET)
  assert.equal(parsePayoutAddress(` ${WALLET.toLowerCase()}\n`), WALLET)
  assert.equal(parsePayoutAddress(`0x${WALLET.slice(2).toUpperCase()}`), WALLET)
})

test('a malformed payout address is refused with what is wrong with it', () => {
  const refused = (text: string, message: RegExp) => assert.throws(() => parsePayoutAddress(text), (error: unknown) => error instanceof PayoutAddressError && message.test(error.message), text)
  refused('', /0x followed by 40 hex digits/)
  refused('0x1234', /0x followed by 40 hex digits/)
  refused(WALLET.slice(2), /0x followed by 40 hex digits/)
  refused(`${WALLET}00`, /0x followed by 40 hex digits/)
  refused('0x52908400098527886E0F7030069857D2E4169EEg', /0x followed by 40 hex digits/)
  // One letter's case changed: a checksummed address with a typo.
  refused('0x52908400098527886E0F7030069857D2E4169Ee7', /checksum/)
  refused(`0x${'0'.repeat(40)}`, /zero address/)
})
