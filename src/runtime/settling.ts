/**
 * The tasks a runtime has started and not yet seen settle, so that close() can wait for every one
 * (and its clean-up) before the runtime's folders or containers go.
 */
export class Settling<T> {
  private readonly pending = new Set<Promise<T>>()

  /** Tracks `outcome` until it settles, and returns it. */
  track (outcome: Promise<T>): Promise<T> {
    this.pending.add(outcome)
    const forget = (): void => { this.pending.delete(outcome) }
    outcome.then(forget, forget)
    return outcome
  }

  async all (): Promise<void> {
    await Promise.allSettled(this.pending)
  }
}
