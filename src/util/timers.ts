/**
 * Lets the process exit with this timer pending (Node); browsers' timers are plain numbers with
 * no such thing (code shared with the browser provider calls this instead of timer.unref()).
 */
export function unrefTimer (timer: unknown): void {
  (timer as { unref?: () => void }).unref?.()
}
