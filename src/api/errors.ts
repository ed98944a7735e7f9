import { ZodError } from 'zod'
import { ConunError } from '../util/index.ts'
import type { ErrorKind } from '../util/index.ts'

/** An error the API answers with: HTTP status, a stable code, a message, and details when useful. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly status: number
  readonly code: string
  readonly issues: readonly string[] | undefined
  constructor (status: number, code: string, message: string, issues?: readonly string[]) {
    super(message)
    this.status = status
    this.code = code
    this.issues = issues
  }
}

/** The HTTP status for each kind of domain error. */
const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  denied: 401,
  payment: 402,
  refused: 403,
  'not-found': 404,
  cancelled: 409,
  'too-large': 413,
  internal: 500,
  unavailable: 503,
}

/** What an API caller can do next, for the codes where the domain's message does not say. */
const NEXT_STEP: Readonly<Record<string, string>> = {
  'content-not-found': 'Upload it to this node first (POST /v1/content).',
}

/**
 * Maps the domains' typed errors (ConunError: its code, and a status from its kind) to API errors;
 * anything else, and internal failures, are a 500 that hides its details.
 */
export function toApiError (error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof ZodError) return new ApiError(400, 'invalid-request', 'the request does not match its schema', error.issues.map(i => `${i.path.join('.') || '(body)'}: ${i.message}`))
  if (error instanceof ConunError && error.kind !== 'internal') {
    const next = NEXT_STEP[error.code]
    return new ApiError(STATUS_OF_KIND[error.kind], error.code, next === undefined ? error.message : `${error.message}. ${next}`, 'issues' in error ? error.issues as readonly string[] : undefined)
  }
  const status = (error as { statusCode?: number }).statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) return new ApiError(status, 'bad-request', (error as Error).message)
  return new ApiError(500, 'internal', 'internal error')
}
