/** What a caught value says: its message if it is an Error (not every thrown value is), else the value as text. */
export function messageOf (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
