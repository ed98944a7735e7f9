import { FsDatastore } from 'datastore-fs'
import type { Key } from 'interface-datastore'

type GetArgs = Parameters<FsDatastore['get']>
type PutArgs = Parameters<FsDatastore['put']>
type DeleteArgs = Parameters<FsDatastore['delete']>
type HasArgs = Parameters<FsDatastore['has']>

/** What the cache holds at most by default: a few thousand peer records. */
const DEFAULT_MAX_CACHED_BYTES = 2 * 1024 * 1024

/**
 * An FsDatastore that keeps the values it last read or wrote in memory, the least recently used
 * going first beyond a byte budget. libp2p's peer store reads a peer's record from disk each time
 * it merges something into it (every identify, every address seen): a requester with 500 providers
 * spent about 30 s of CPU opening and reading those files in one 50,000-task job. Writes still go
 * to disk every time.
 */
export class CachingFsDatastore extends FsDatastore {
  private readonly maxCachedBytes: number
  private readonly cache = new Map<string, Uint8Array>()
  private cachedBytes = 0
  /** Reads from disk under way, per key, and the keys written meanwhile (what such a read returns may be stale). */
  private readonly reading = new Map<string, number>()
  private readonly writtenWhileReading = new Set<string>()

  constructor (location: string, maxCachedBytes = DEFAULT_MAX_CACHED_BYTES) {
    super(location)
    this.maxCachedBytes = maxCachedBytes
  }

  override async get (...[key, options]: GetArgs): Promise<Uint8Array> {
    const name = key.toString()
    const cached = this.cache.get(name)
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
    return this.cache.has(key.toString()) || await super.has(key, options)
  }

  override async put (...[key, value, options]: PutArgs): Promise<Key> {
    const name = key.toString()
    this.changing(name)
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
    this.forget(name)
    try {
      await super.delete(key, options)
    } finally {
      this.changing(name)
    }
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
