/** At most `limit` holders at once; the rest wait in arrival order. */
export class Semaphore {
  private available: number
  private limit: number
  private readonly waiters: Array<() => void> = []

  constructor (limit: number) {
    this.available = limit
    this.limit = limit
  }

  /** Changes the limit; holders above a lowered limit keep going, and nobody new gets in until they leave. */
  resize (limit: number): void {
    this.available += limit - this.limit
    this.limit = limit
    this.wakeWaiters()
  }

  /** Whether an acquire() now would have to wait. */
  get full (): boolean {
    return this.available <= 0
  }

  /** How many acquire() calls are waiting. */
  get waiting (): number {
    return this.waiters.length
  }

  async acquire (signal?: AbortSignal): Promise<void> {
    if (this.available > 0) {
      this.available--
      return
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = () => {
        const index = this.waiters.indexOf(wake)
        if (index >= 0) this.waiters.splice(index, 1)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(wake)
    })
  }

  release (): void {
    this.available++
    this.wakeWaiters()
  }

  private wakeWaiters (): void {
    while (this.available > 0 && this.waiters.length > 0) {
      this.available--
      this.waiters.shift()!()
    }
  }
}
