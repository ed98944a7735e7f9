import { ConunError } from '../util/index.ts'

/** Why an incoming wire message was refused. The node answers with a typed error and keeps serving. */
export type WireErrorCode = 'oversized' | 'malformed' | 'schema' | 'bad-signature' | 'unexpected' | 'closed'

export class WireError extends ConunError {
  override readonly name = 'WireError'
  readonly kind = 'invalid'
  readonly code: WireErrorCode
  constructor (code: WireErrorCode, message: string) {
    super(message)
    this.code = code
  }
}
