import { ConunError } from '../util/index.ts'

/** A chain or contract call failed; `reason` is the contract's custom error when there is one. */
export class LedgerError extends ConunError {
  override readonly name = 'LedgerError'
  readonly code = 'payment-failed'
  readonly kind = 'payment'
  readonly reason: string | undefined
  constructor (message: string, reason?: string) {
    super(message)
    this.reason = reason
  }
}

export class AmountError extends ConunError {
  override readonly name = 'AmountError'
  readonly code = 'invalid-amount'
  readonly kind = 'invalid'
}

export class ContractCompileError extends ConunError {
  override readonly name = 'ContractCompileError'
  readonly code = 'contract-compile'
  readonly kind = 'internal'
}
