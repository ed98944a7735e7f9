import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { messageOf } from './messageOf.ts'

describe('messageOf', () => {
  it('says an Error\'s message, an Event\'s kind (and the error it carries), and anything else as text', () => {
    assert.equal(messageOf(new TypeError('bad frame')), 'bad frame')
    assert.equal(messageOf(new Event('abort')), 'abort event')
    const errorEvent = Object.assign(new Event('error'), { error: new Error('connection reset') })
    assert.equal(messageOf(errorEvent), 'error event: connection reset')
    assert.equal(messageOf('closed'), 'closed')
    assert.equal(messageOf(undefined), 'undefined')
  })
})
