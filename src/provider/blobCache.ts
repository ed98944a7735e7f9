import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FetchOptions, Storage } from '../storage/index.ts'

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

/**
 * Task code and inputs as local files named by CID, fetched once through storage (which verifies
 * every block against its hash) and shared by every task that needs them. Concurrent requests for
 * the same CID share one fetch. With `maxBytes`, the least recently used files are removed after a
 * fetch until the cache fits.
 */
export class BlobCache {
  private readonly dir: string
  private readonly storage: Storage
  private readonly maxBytes: number
  private readonly protectMs: number
  private readonly pending = new Map<string, Promise<string>>()
  private readonly lastUsed = new Map<string, number>()

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
      const fetched = await this.storage.fetchToFile(cid, path, { ...options, maxBytes: size })
      if (fetched !== size) throw new Error(`content ${cid} is ${fetched} bytes, the task said ${size}`)
      if (Number.isFinite(this.maxBytes)) await this.evict()
      return path
    })()
    this.pending.set(cid, fetching)
    try {
      return await fetching
    } finally {
      this.pending.delete(cid)
    }
  }

  /** Removes the least recently used files, except those in use, until the cache fits in maxBytes. */
  private async evict (): Promise<void> {
    const now = Date.now()
    const files = await Promise.all((await readdir(this.dir)).map(async name => {
      const info = await stat(join(this.dir, name)).catch(() => undefined)
      return { name, size: info?.size ?? 0, usedAt: this.lastUsed.get(name) ?? info?.mtimeMs ?? 0 }
    }))
    let total = files.reduce((sum, file) => sum + file.size, 0)
    for (const file of files.sort((a, b) => a.usedAt - b.usedAt)) {
      if (total <= this.maxBytes) return
      if (now - file.usedAt < this.protectMs || this.pending.has(file.name)) continue
      await rm(join(this.dir, file.name), { force: true })
      this.lastUsed.delete(file.name)
      total -= file.size
    }
  }
}
