import { ZodError } from 'zod'
import { JobSpecError, UnknownJobError } from '../requester/index.ts'
import { ContentNotFoundError, ContentTooLargeError, InvalidCidError } from '../storage/index.ts'
import { AmountError, LedgerError } from '../ledger/index.ts'

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

/** Maps the domains' typed errors to API errors; anything else is a 500 that hides its details. */
export function toApiError (error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof JobSpecError) return new ApiError(400, 'invalid-spec', error.message, error.issues)
  if (error instanceof ZodError) return new ApiError(400, 'invalid-request', 'the request does not match its schema', error.issues.map(i => `${i.path.join('.') || '(body)'}: ${i.message}`))
  // The chain refused (e.g. too few CON for the budget): the job was not created.
  if (error instanceof LedgerError) return new ApiError(402, 'payment-failed', error.message)
  if (error instanceof AmountError) return new ApiError(400, 'invalid-amount', error.message)
  if (error instanceof UnknownJobError) return new ApiError(404, 'unknown-job', error.message)
  if (error instanceof InvalidCidError) return new ApiError(400, 'invalid-cid', error.message)
  if (error instanceof ContentNotFoundError) return new ApiError(404, 'content-not-found', `${error.message}. Upload it to this node first (POST /v1/content).`)
  if (error instanceof ContentTooLargeError) return new ApiError(413, 'content-too-large', error.message)
  const status = (error as { statusCode?: number }).statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) return new ApiError(status, 'bad-request', (error as Error).message)
  return new ApiError(500, 'internal', 'internal error')
}
