/** A typed fan-out of events to listeners; a throwing listener never stops the others. */
export class EventHub<E> {
  private readonly listeners = new Set<(event: E) => void>()

  emit (event: E): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch { /* a listener's failure is its own */ }
    }
  }

  /** Returns the unsubscribe function. */
  on (listener: (event: E) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
