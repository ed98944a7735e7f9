import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FetchOptions, Storage } from '../storage/index.ts'

/**
 * Task code and inputs as local files named by CID, fetched once through storage (which verifies
 * every block against its hash) and shared by every task that needs them. Concurrent requests for
 * the same CID share one fetch.
 */
export class BlobCache {
  private readonly dir: string
  private readonly storage: Storage
  private readonly pending = new Map<string, Promise<string>>()

  constructor (dir: string, storage: Storage) {
    this.dir = dir
    this.storage = storage
  }

  /** The local path of the content, fetching it first if needed. `size` is what the sender claims. */
  async get (cid: string, size: number, options?: FetchOptions): Promise<string> {
    const path = join(this.dir, cid)
    const known = this.pending.get(cid)
    if (known !== undefined) return known
    const fetching = (async () => {
      try {
        if ((await stat(path)).size === size) return path
      } catch { /* not cached yet */ }
      await mkdir(this.dir, { recursive: true })
      const fetched = await this.storage.fetchToFile(cid, path, options)
      if (fetched !== size) throw new Error(`content ${cid} is ${fetched} bytes, the task said ${size}`)
      return path
    })()
    this.pending.set(cid, fetching)
    try {
      return await fetching
    } finally {
      this.pending.delete(cid)
    }
  }
}
