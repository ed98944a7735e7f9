import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import { z } from 'zod'
import { FramedStream } from './framedStream.ts'

const counter = z.object({ n: z.number() })

describe('FramedStream', () => {
  it('lets timers run while it reads a backlog of buffered frames (they would otherwise all come in microtasks)', async () => {
    const [outbound, inbound] = await streamPair()
    const writer = new FramedStream(outbound, counter, 64 * 1024)
    const reader = new FramedStream(inbound, counter, 64 * 1024)
    const FRAMES = 200
    for (let n = 0; n < FRAMES; n++) await writer.write({ n })
    await new Promise(resolve => setTimeout(resolve, 50)) // every frame is buffered at the reader now

    let ticks = 0
    const ticker = setInterval(() => ticks++, 1)
    try {
      for (let n = 0; n < FRAMES; n++) {
        assert.deepEqual(await reader.read(), { n })
        const busyUntil = performance.now() + 1 // handling a message takes a while (a signature, rows)
        while (performance.now() < busyUntil);
      }
    } finally {
      clearInterval(ticker)
      await writer.close()
      await reader.close()
    }
    // 200 ms of reading: a timer gets its turn at least every few reads, not once at the end.
    assert.ok(ticks >= 10, `a 1 ms timer ran ${ticks} times in ${FRAMES} ms of reading`)
  })
})
