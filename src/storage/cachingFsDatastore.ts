import { FsDatastore } from 'datastore-fs'
import type { Key } from 'interface-datastore'

type GetArgs = Parameters<FsDatastore['get']>
type PutArgs = Parameters<FsDatastore['put']>
type DeleteArgs = Parameters<FsDatastore['delete']>
type HasArgs = Parameters<FsDatastore['has']>

/** What the cache holds at most by default: a few thousand peer records. */
const DEFAULT_MAX_CACHED_BYTES = 2 * 1024 * 1024
/**
 * Keys whose writes may wait: libp2p's peer records. The peer store rewrites a peer's record,
 * stamped with the time, on every new stream to or from the peer (each ping too, every 10 s per
 * connection), and libp2p hands out no stream before that write is done. A requester with 500
 * providers wrote about 50 such files a second, and its streams waited on them: proposals timed
 * out and sessions broke (891 in one profiled 50,000-task job, none in the next once these
 * writes waited).
 */
const DEFERRED_PREFIX = '/peers/'
/** A deferred key is written at most this often by default. */
const DEFAULT_MIN_WRITE_INTERVAL_MS = 60_000

export interface CachingFsDatastoreOptions {
  readonly maxCachedBytes?: number
  /**
   * A peer record is written at most once in this long; a newer one waits (and is what reads get)
   * until then. What waits is lost if the node crashes first: the peers tell it again.
   */
  readonly minWriteIntervalMs?: number
}

/**
 * An FsDatastore that keeps the values it last read or wrote in memory, the least recently used
 * going first beyond a byte budget. libp2p's peer store reads a peer's record from disk each time
 * it merges something into it (every identify, every address seen): a requester with 500 providers
 * spent about 23 s of CPU opening and reading those files in one 50,000-task job. Writes go to
 * disk at once, except a peer record's, which goes at most once a minute (see DEFERRED_PREFIX).
 */
export class CachingFsDatastore extends FsDatastore {
  private readonly maxCachedBytes: number
  private readonly cache = new Map<string, Uint8Array>()
  private cachedBytes = 0
  /** Reads from disk under way, per key, and the keys written meanwhile (what such a read returns may be stale). */
  private readonly reading = new Map<string, number>()
  private readonly writtenWhileReading = new Set<string>()
  private readonly minWriteIntervalMs: number
  /** When each deferred key was last written to disk (dropped a while after). */
  private readonly writtenAt = new Map<string, number>()
  /** Deferred writes waiting for their key's interval to pass, the latest value of each. */
  private readonly waiting = new Map<string, { readonly key: Key, readonly value: Uint8Array }>()
  private flushTimer: NodeJS.Timeout | undefined

  constructor (location: string, options: CachingFsDatastoreOptions = {}) {
    super(location)
    this.maxCachedBytes = options.maxCachedBytes ?? DEFAULT_MAX_CACHED_BYTES
    this.minWriteIntervalMs = options.minWriteIntervalMs ?? DEFAULT_MIN_WRITE_INTERVAL_MS
  }

  override async get (...[key, options]: GetArgs): Promise<Uint8Array> {
    const name = key.toString()
    const cached = this.waiting.get(name)?.value ?? this.cache.get(name)
    if (cached !== undefined) {
      this.remember(name, cached)
      return cached
    }
    this.reading.set(name, (this.reading.get(name) ?? 0) + 1)
    try {
      const value = await super.get(key, options)
      if (!this.writtenWhileReading.has(name)) this.remember(name, value)
      return value
    } finally {
      const readers = this.reading.get(name)! - 1
      if (readers > 0) {
        this.reading.set(name, readers)
      } else {
        this.reading.delete(name)
        this.writtenWhileReading.delete(name)
      }
    }
  }

  override async has (...[key, options]: HasArgs): Promise<boolean> {
    const name = key.toString()
    return this.waiting.has(name) || this.cache.has(name) || await super.has(key, options)
  }

  override async put (...[key, value, options]: PutArgs): Promise<Key> {
    const name = key.toString()
    this.changing(name)
    if (name.startsWith(DEFERRED_PREFIX)) {
      const writtenAt = this.writtenAt.get(name)
      if (writtenAt !== undefined && Date.now() - writtenAt < this.minWriteIntervalMs) {
        this.waiting.set(name, { key, value })
        this.remember(name, value)
        this.flushTimer ??= setInterval(() => { this.flushWaiting() }, Math.max(this.minWriteIntervalMs / 4, 10)).unref()
        return key
      }
      this.waiting.delete(name)
      this.writtenAt.set(name, Date.now())
    }
    try {
      const written = await super.put(key, value, options)
      this.remember(name, value)
      return written
    } catch (error) {
      // What the file holds now is unknown.
      this.forget(name)
      throw error
    } finally {
      this.changing(name)
    }
  }

  override async delete (...[key, options]: DeleteArgs): Promise<void> {
    const name = key.toString()
    this.changing(name)
    this.waiting.delete(name)
    this.forget(name)
    try {
      await super.delete(key, options)
    } finally {
      this.changing(name)
    }
  }

  /** Writes what waited its interval out (through put, so a subclass's checks apply); forgets old write times. */
  private flushWaiting (): void {
    const now = Date.now()
    const due = [...this.writtenAt].filter(([, at]) => now - at >= this.minWriteIntervalMs).map(([name]) => name)
    for (const name of due) this.writtenAt.delete(name)
    for (const name of due) {
      const waiting = this.waiting.get(name)
      if (waiting !== undefined) void this.put(waiting.key, waiting.value).catch(() => {})
    }
    if (this.waiting.size === 0) {
      clearInterval(this.flushTimer)
      this.flushTimer = undefined
    }
  }

  /** Writes what waits now, its interval or not (the node stops); resolves once written. */
  protected async writeWaiting (): Promise<void> {
    clearInterval(this.flushTimer)
    this.flushTimer = undefined
    const waiting = [...this.waiting.values()]
    this.waiting.clear()
    for (const { key } of waiting) this.writtenAt.delete(key.toString())
    await Promise.allSettled(waiting.map(async ({ key, value }) => this.put(key, value)))
  }

  /** A write of `name` starts or ends: a read of it under way may return either value, so it is not kept. */
  private changing (name: string): void {
    if (this.reading.has(name)) this.writtenWhileReading.add(name)
  }

  private remember (name: string, value: Uint8Array): void {
    this.forget(name)
    if (value.byteLength > this.maxCachedBytes) return
    this.cache.set(name, value)
    this.cachedBytes += value.byteLength
    for (const [oldest, bytes] of this.cache) {
      if (this.cachedBytes <= this.maxCachedBytes) break
      this.cache.delete(oldest)
      this.cachedBytes -= bytes.byteLength
    }
  }

  private forget (name: string): void {
    const cached = this.cache.get(name)
    if (cached === undefined) return
    this.cache.delete(name)
    this.cachedBytes -= cached.byteLength
  }
}
