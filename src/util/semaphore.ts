/** At most `limit` holders at once; the rest wait in arrival order. */
export class Semaphore {
  private available: number
  private readonly waiters: Array<() => void> = []

  constructor (limit: number) {
    this.available = limit
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
    const next = this.waiters.shift()
    if (next !== undefined) next()
    else this.available++
  }
}
