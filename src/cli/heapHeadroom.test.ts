import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { growingPercent } from './heapHeadroom.ts'

const MB = 1024 ** 2

/**
 * A process with a node's 8 MB semi-spaces and 25 % heap growth, a 50 MB live heap, relaying 200
 * MB of 256 KB buffers of which the last 40 are held at once (blocks in flight): it prints how
 * many full collections the relaying took.
 */
const RELAY = `
import { constants, PerformanceObserver } from 'node:perf_hooks'
let majors = 0
new PerformanceObserver(list => { for (const entry of list.getEntries()) if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++ }).observe({ entryTypes: ['gc'] })
const live = Array.from({ length: 400_000 }, (_, i) => ({ i, name: 'x' + i, pair: [i, i + 1] }))
if (process.env.HEADROOM === '1') (await import(${JSON.stringify(new URL('./heapHeadroom.ts', import.meta.url).href)})).keepHeapHeadroom({ percent: 25, minBytes: 64 * 1024 ** 2 })
await new Promise(resolve => setTimeout(resolve, 100))
majors = 0
const inFlight = []
for (let i = 0; i < 800; i++) {
  inFlight.push(Buffer.alloc(256 * 1024, i))
  if (inFlight.length > 40) inFlight.shift()
  globalThis.garbage = Array.from({ length: 20_000 }, (_, j) => ({ j }))
  if (i % 8 === 0) await new Promise(resolve => setImmediate(resolve))
}
console.log(JSON.stringify({ majors, live: live.length }))
`

async function fullCollections (headroom: boolean): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=8', '--heap-growing-percent=25', '--input-type=module', '-e', RELAY], { env: { ...process.env, HEADROOM: headroom ? '1' : '0' } })
  return (JSON.parse(stdout) as { majors: number }).majors
}

describe('heap headroom', () => {
  it('grows a small heap by the minimum, a large one by the percent', () => {
    const headroom = { percent: 25, minBytes: 64 * MB }
    assert.equal(growingPercent(57 * MB, headroom), 113)
    assert.equal(growingPercent(256 * MB, headroom), 25)
    assert.equal(growingPercent(1024 * MB, headroom), 25)
    assert.equal(growingPercent(0, headroom), 1000, 'a tiny heap gets at most 10×, a percent V8 takes')
    assert.equal(growingPercent(8 * MB, { percent: 25, minBytes: 32 * MB }), 400)
  })

  it('keeps a process that relays buffers from collecting its whole heap again and again', async () => {
    const [fixed, kept] = await Promise.all([fullCollections(false), fullCollections(true)])
    // Measured: 11 full collections at a fixed 25 %, 3 with the headroom.
    assert.ok(fixed >= 6, `the fixed 25 % collected ${fixed} times: the relay no longer shows the problem`)
    assert.ok(kept * 2 <= fixed, `${kept} full collections with the headroom, ${fixed} without`)
  })
})
