import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import { ReceiptPacer } from './receiptPacer.ts'

test('receipts go out once per provider per interval, at once on flush, never after stop', () => {
  mock.timers.enable({ apis: ['setTimeout'] })
  try {
    const sent: string[] = []
    const pacer = new ReceiptPacer(peerId => sent.push(peerId), 50)
    for (let i = 0; i < 10; i++) pacer.owe('p1')
    pacer.owe('p2')
    mock.timers.tick(49)
    assert.deepEqual(sent, [], 'nothing before the interval')
    mock.timers.tick(1)
    assert.deepEqual(sent, ['p1', 'p2'], 'one each, however many results')
    pacer.owe('p1')
    pacer.flush()
    assert.deepEqual(sent, ['p1', 'p2', 'p1'], 'flush sends what is due at once')
    mock.timers.tick(100)
    assert.equal(sent.length, 3, 'and leaves no timer behind')
    pacer.owe('p2')
    pacer.stop()
    pacer.owe('p3')
    mock.timers.tick(100)
    assert.equal(sent.length, 3, 'a stopped pacer sends nothing')
  } finally {
    mock.timers.reset()
  }
})
