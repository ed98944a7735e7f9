import { constants, PerformanceObserver } from 'node:perf_hooks'
import type { PerformanceEntry } from 'node:perf_hooks'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'

export interface HeapHeadroom {
  /** The old generation may grow by this share of what survived the last full collection… */
  readonly percent: number
  /** …and by at least this many bytes. */
  readonly minBytes: number
}

/** A 'gc' performance entry: its detail says which kind of collection it was. */
type GcEntry = PerformanceEntry & { readonly detail?: { readonly kind?: number } }

/** The most a heap is let grow by (10×): a node's heap is never that small but at its start. */
const MAX_PERCENT = 1000

/** V8's heap growing percent that gives a heap of `liveBytes` the headroom asked for. */
export function growingPercent (liveBytes: number, headroom: HeapHeadroom): number {
  return Math.max(headroom.percent, Math.min(MAX_PERCENT, Math.ceil(100 * headroom.minBytes / Math.max(liveBytes, 1))))
}

/**
 * Sets V8's heap growing percent after each full collection, from what survived it, so that the
 * next one waits for `percent` more, or `minBytes` more where that is larger. V8 counts the
 * ArrayBuffers of content a node moves against the same limit as its objects, so a fixed
 * percent of a small heap (25 % of a requester's 57 MB) let the blocks of one training round in
 * flight start a full collection every 200 ms. Returns a function that stops it.
 */
export function keepHeapHeadroom (headroom: HeapHeadroom): () => void {
  let applied: number | undefined
  const apply = () => {
    const percent = growingPercent(getHeapStatistics().used_heap_size, headroom)
    if (percent === applied) return
    applied = percent
    setFlagsFromString(`--heap-growing-percent=${percent}`)
  }
  apply()
  const observer = new PerformanceObserver(list => {
    if (list.getEntries().some(entry => (entry as GcEntry).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) apply()
  })
  observer.observe({ entryTypes: ['gc'] })
  return () => observer.disconnect()
}
