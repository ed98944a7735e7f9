/**
 * The tasks (by index) waiting for a provider, in order; a task appears once per replica it still
 * needs. Taking from the front is O(1) amortised: the array is compacted only once most of it has
 * been taken, so a million-task queue is never copied per task.
 */
export class TaskQueue {
  private entries: number[] = []
  private head = 0

  get length (): number {
    return this.entries.length - this.head
  }

  push (idx: number): void {
    this.entries.push(idx)
  }

  /** Removes and answers the first of the next `scan` entries that `fits`, if any does. */
  take (fits: (idx: number) => boolean, scan = 64): number | undefined {
    const end = Math.min(this.length, scan)
    for (let offset = 0; offset < end; offset++) {
      const idx = this.entries[this.head + offset]!
      if (!fits(idx)) continue
      if (offset === 0) this.head++
      else this.entries.splice(this.head + offset, 1)
      if (this.head > 4096 && this.head * 2 > this.entries.length) this.compact()
      return idx
    }
    return undefined
  }

  /** How many replicas of `idx` wait. */
  count (idx: number): number {
    let count = 0
    for (let i = this.head; i < this.entries.length; i++) if (this.entries[i] === idx) count++
    return count
  }

  /** Takes every waiting replica of `idx` out. */
  remove (idx: number): void {
    this.entries = this.entries.slice(this.head).filter(entry => entry !== idx)
    this.head = 0
  }

  /** Empties the queue; answers the distinct tasks that were waiting, in order. */
  drain (): number[] {
    const waiting = [...new Set(this.entries.slice(this.head))]
    this.entries = []
    this.head = 0
    return waiting
  }

  private compact (): void {
    this.entries = this.entries.slice(this.head)
    this.head = 0
  }
}
