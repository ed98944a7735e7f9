import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { windowOf } from './providerWindow.ts'

const pace = (cores: number, taskMs: number | undefined, rttMs: number, maxInFlight = 256) => ({ cores, taskMs, link: { maxInFlight, rttMs: () => rttMs } })

describe('a provider\'s window', () => {
  it('holds one queued task per core until the first result tells how long tasks take', () => {
    assert.equal(windowOf(pace(4, undefined, 150)), 5)
  })

  it('grows with the round trip, so that a far provider never waits for work', () => {
    const near = windowOf(pace(1, 10, 0))
    const far = windowOf(pace(1, 10, 150))
    assert.equal(near, 1 + 5)
    assert.equal(far, 1 + Math.ceil((50 + 300) / 10))
    // Tasks out cover the time a result and the next assignment take on the way.
    assert.ok((far - 1) * 10 >= 2 * 150)
  })

  it('queues little for long tasks, and never more than the provider agreed to hold', () => {
    assert.equal(windowOf(pace(2, 60_000, 150)), 3)
    assert.equal(windowOf(pace(8, 1, 150, 64)), 64)
  })
})
