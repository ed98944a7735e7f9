/**
 * Paces receipts to providers: each is a signature, so however many results of a provider are
 * accepted in a moment, it gets one receipt (the latest, cumulative) per interval; `flush` sends
 * what is due at once (a job ending), `stop` drops it (a job torn down).
 */
export class ReceiptPacer {
  private readonly send: (peerId: string) => void
  private readonly intervalMs: number
  private readonly due = new Set<string>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private stopped = false

  constructor (send: (peerId: string) => void, intervalMs: number) {
    this.send = send
    this.intervalMs = intervalMs
  }

  /** `peerId` is owed a receipt: it goes out within the interval. */
  owe (peerId: string): void {
    if (this.stopped) return
    this.due.add(peerId)
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs)
  }

  flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    const due = [...this.due]
    this.due.clear()
    for (const peerId of due) this.send(peerId)
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    this.due.clear()
  }
}
