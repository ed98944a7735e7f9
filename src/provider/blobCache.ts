import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FetchOptions, Storage } from '../storage/index.ts'
import { ConunError } from '../util/index.ts'

export interface BlobCacheLimits {
  /** Bytes the cache may hold (default: no limit). */
  readonly maxBytes?: number
  /**
   * A path handed out this recently is never evicted (default 60 s): the sandboxes hard-link inputs
   * into their task folders, compile modules and load images within moments of getting the path,
   * and a link keeps the bytes alive after eviction.
   */
  readonly protectMs?: number
}

/** Content that cannot have room in the cache: larger than it, or the cache is full of files in use. */
export class CacheFullError extends ConunError {
  override readonly name = 'CacheFullError'
  readonly code = 'cache-full'
  readonly kind = 'too-large'
  readonly cid: string
  constructor (cid: string, size: number, maxBytes: number, detail: string) {
    super(`no room for content ${cid} (${size} bytes) in the ${maxBytes}-byte cache: ${detail}`)
    this.cid = cid
  }
}

/**
 * Task code and inputs as local files named by CID, fetched once through storage (which verifies
 * every block against its hash, and holds the content to the size the task declared) and shared by
 * every task that needs them. Concurrent requests for the same CID share one fetch. With
 * `maxBytes`, room for the declared size is made before the fetch starts, by removing the least
 * recently used files, so the cache never holds more than its limit.
 */
export class BlobCache {
  private readonly dir: string
  private readonly storage: Storage
  private readonly maxBytes: number
  private readonly protectMs: number
  private readonly pending = new Map<string, Promise<string>>()
  private readonly lastUsed = new Map<string, number>()
  /** Bytes promised to fetches under way: their files are not in the folder yet. */
  private reserved = 0

  constructor (dir: string, storage: Storage, limits: BlobCacheLimits = {}) {
    this.dir = dir
    this.storage = storage
    this.maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY
    this.protectMs = limits.protectMs ?? 60_000
  }

  /** The local path of the content, fetching it first if needed. `size` is what the sender claims. */
  async get (cid: string, size: number, options?: FetchOptions): Promise<string> {
    this.lastUsed.set(cid, Date.now())
    const path = join(this.dir, cid)
    const known = this.pending.get(cid)
    if (known !== undefined) return known
    const fetching = (async () => {
      try {
        if ((await stat(path)).size === size) return path
      } catch { /* not cached yet */ }
      await mkdir(this.dir, { recursive: true })
      await this.reserve(cid, size)
      try {
        const fetched = await this.storage.fetchToFile(cid, path, { ...options, maxBytes: size })
        if (fetched !== size) {
          await rm(path, { force: true })
          throw new Error(`content ${cid} is ${fetched} bytes, the task said ${size}`)
        }
        return path
      } finally {
        this.reserved -= size
      }
    })()
    this.pending.set(cid, fetching)
    try {
      return await fetching
    } finally {
      this.pending.delete(cid)
    }
  }

  /** Makes room for `size` more bytes, or refuses them with CacheFullError. */
  private async reserve (cid: string, size: number): Promise<void> {
    if (size > this.maxBytes) throw new CacheFullError(cid, size, this.maxBytes, 'it is larger than the whole cache')
    // Counted before evicting, so that fetches starting meanwhile see the room as taken.
    this.reserved += size
    if (!Number.isFinite(this.maxBytes) || await this.evict()) return
    this.reserved -= size
    throw new CacheFullError(cid, size, this.maxBytes, 'the files there are in use')
  }

  /**
   * Removes the least recently used files, except those in use, until the cache and the fetches
   * under way fit in maxBytes; false if they cannot.
   */
  private async evict (): Promise<boolean> {
    const now = Date.now()
    const files = await Promise.all((await readdir(this.dir)).map(async name => {
      const info = await stat(join(this.dir, name)).catch(() => undefined)
      return { name, size: info?.size ?? 0, usedAt: this.lastUsed.get(name) ?? info?.mtimeMs ?? 0 }
    }))
    let total = files.reduce((sum, file) => sum + file.size, 0)
    for (const file of files.sort((a, b) => a.usedAt - b.usedAt)) {
      if (total + this.reserved <= this.maxBytes) return true
      if (now - file.usedAt < this.protectMs || this.pending.has(file.name)) continue
      await rm(join(this.dir, file.name), { force: true })
      this.lastUsed.delete(file.name)
      total -= file.size
    }
    return total + this.reserved <= this.maxBytes
  }
}
