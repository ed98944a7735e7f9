import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openDatabase } from '../util/index.ts'
import { TransactionJournal } from './transactionJournal.ts'
import type { Address, Hex } from 'viem'

const ACCOUNT = '0x00000000000000000000000000000000000000Aa' as Address
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex

test('the journal keeps each nonce\'s versions until one is mined, and numbers new transactions after them', () => {
  const db = openDatabase(':memory:')
  try {
    const journal = new TransactionJournal(db, 31337)
    assert.equal(journal.nextNonce(ACCOUNT), undefined, 'nothing in flight: the chain\'s count decides')
    journal.signed(ACCOUNT, 7, hash(1), '0x01')
    journal.signed(ACCOUNT, 7, hash(2), '0x02') // a replacement with higher fees
    journal.signed(ACCOUNT, 8, hash(3), '0x03')
    assert.equal(journal.nextNonce(ACCOUNT), 9)
    assert.deepEqual(journal.inFlight(ACCOUNT), [
      { nonce: 7, hashes: [hash(1), hash(2)], raw: '0x02' },
      { nonce: 8, hashes: [hash(3)], raw: '0x03' },
    ], 'the latest version of each nonce is what goes out again')
    assert.equal(new TransactionJournal(db, 1).nextNonce(ACCOUNT), undefined, 'another chain\'s sequence is its own')
    journal.forget(hash(3))
    assert.equal(journal.nextNonce(ACCOUNT), 8, 'a refused transaction holds no nonce')
    journal.mined(ACCOUNT.toLowerCase() as Address, 7)
    assert.deepEqual(journal.inFlight(ACCOUNT), [])
    assert.equal(journal.isOpen, true)
  } finally {
    db.close()
  }
})
