/**
 * Lets the process exit with this timer pending (Node); browsers' timers are plain numbers with
 * no such thing (code shared with the browser provider calls this instead of timer.unref()).
 */
export function unrefTimer (timer: unknown): void {
  (timer as { unref?: () => void }).unref?.()
}

/** Runs `callback` at the next turn of the event loop: setImmediate on Node; browsers (the browser provider) have only timers. */
export const nextTurn: (callback: () => void) => void = globalThis.setImmediate ?? (callback => setTimeout(callback, 0))

/** Resolves at the next turn of the event loop, after the I/O and timers waiting now. */
export function turn (): Promise<void> {
  return new Promise(resolve => nextTurn(resolve))
}
