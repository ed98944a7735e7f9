import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeLeb } from './wasmBinary.ts'

describe('wasmBinary', () => {
  it('encodes LEB128', () => {
    assert.deepEqual([...encodeLeb(0)], [0x00])
    assert.deepEqual([...encodeLeb(127)], [0x7f])
    assert.deepEqual([...encodeLeb(128)], [0x80, 0x01])
    assert.deepEqual([...encodeLeb(65536)], [0x80, 0x80, 0x04])
  })
})
