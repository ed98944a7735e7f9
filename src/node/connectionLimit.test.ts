import assert from 'node:assert/strict'
import { test } from 'node:test'
import { maxConnectionsFor } from './connectionLimit.ts'

test('a node that may use few providers keeps the usual connection cap', () => {
  assert.equal(maxConnectionsFor(64), 300)
})

test('a requester allowed 500 providers may hold all of them and its other peers', () => {
  assert.ok(maxConnectionsFor(500) >= 500 + 100)
  assert.ok(maxConnectionsFor(4096) >= 4096)
})
