import { CachingFsDatastore } from './cachingFsDatastore.ts'

type PutArgs = Parameters<CachingFsDatastore['put']>

/**
 * The node's datastore (peer records, DHT records). libp2p goes on writing peer records as its
 * connections close, also once the node has stopped, so a stopped node's folder came back after it
 * was removed (every test grid left folders in /tmp that way). Once stopped, it writes nothing more:
 * a stopped node's peer records are worth nothing, and stop waits for the writes under way (and
 * writes the peer records that waited, see CachingFsDatastore).
 */
export class ClosableFsDatastore extends CachingFsDatastore {
  private stopped = false
  private readonly writing = new Set<Promise<unknown>>()

  override async put (...[key, value, options]: PutArgs): ReturnType<CachingFsDatastore['put']> {
    if (this.stopped) return key
    const write = super.put(key, value, options)
    this.writing.add(write)
    try {
      return await write
    } finally {
      this.writing.delete(write)
    }
  }

  /** Writes the peer records that wait, then no write starts; resolves once those under way have ended. */
  async stopWriting (): Promise<void> {
    // Its writes start before the flag is set (put's first step is synchronous).
    const waiting = this.writeWaiting()
    this.stopped = true
    await waiting
    await Promise.allSettled([...this.writing])
  }
}
