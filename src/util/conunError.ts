/**
 * What kind of failure an error is, so that code far from where it was thrown can react without
 * knowing every class (the API maps kinds to HTTP statuses; internal ones hide their message).
 */
export type ErrorKind = 'invalid' | 'denied' | 'not-found' | 'too-large' | 'payment' | 'refused' | 'unavailable' | 'cancelled' | 'internal'

/**
 * The base of the errors a caller must react to: each domain's errors (in its `errors.ts`) extend
 * it with a stable `code` (kebab-case, also the API's error code) and a `kind`.
 */
export abstract class ConunError extends Error {
  abstract readonly code: string
  abstract readonly kind: ErrorKind
}
