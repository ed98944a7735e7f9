/**
 * What a caught value says: its message if it is an Error (not every thrown value is), the kind of
 * an Event (a stream aborted by a signal's or a socket's event rejects with the event, which prints
 * as "[object Event]"), else the value as text.
 */
export function messageOf (error: unknown): string {
  if (error instanceof Error) return error.message
  if (error instanceof Event) {
    const cause = (error as Event & { error?: unknown }).error
    return `${error.type} event${cause instanceof Error ? `: ${cause.message}` : ''}`
  }
  return String(error)
}
