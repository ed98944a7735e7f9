import type { AgreementProposalBody, ConnectionPath, SignedOffer, TaskAssignment, TaskAttempt, TaskReceipt, TaskResult, TaskResultsBody } from '../net/index.ts'
import { ConunError } from '../util/index.ts'

/** A provider's signed result batch, as it arrived: kept as proof when one of its results is judged wrong. */
export interface SignedBatch {
  readonly body: TaskResultsBody
  readonly signature: string
}

/** What a link reports back to the scheduler. */
export interface LinkHandlers {
  onStarted(taskIds: readonly string[]): void
  /** Results whose batch signature and envelope were verified, with the signed batch itself. */
  onResults(results: readonly TaskResult[], batch: SignedBatch): void
  /** The attempts the scheduler waits for from this provider (a resumed session asks the provider about them). */
  outstanding(): TaskAttempt[]
  /** Attempts the provider no longer has (they went with a broken connection): they go out again. */
  onLost(tasks: readonly TaskAttempt[]): void
  /** The session now reaches the provider another way (a relay went away, a hole punch succeeded). */
  onMoved(path: ConnectionPath): void
  /** The session is over: its outstanding attempts are lost. */
  onClosed(reason: string): void
}

/**
 * An agreed session with one provider for one job. The scheduler only sees this interface, so it
 * does not care whether tasks travel over libp2p or anything else.
 */
export interface ProviderLink {
  readonly peerId: string
  /** The Ethereum address the provider is paid at (its offer's payout, else its key's address). */
  readonly address: string
  readonly agreementId: string
  /** Tasks the provider agreed to hold at once. */
  readonly maxInFlight: number
  /** How the session reaches the provider now. */
  path(): ConnectionPath
  /** The shortest round trip seen on the session so far, in ms (undefined before the first). */
  rttMs(): number | undefined
  assign(tasks: readonly TaskAssignment[]): void
  cancel(taskIds: readonly string[]): void
  /** Sends the provider its latest cumulative receipt (paid jobs). */
  sendReceipt(receipt: TaskReceipt): void
  close(): Promise<void>
}

export type OpenLink = (offer: SignedOffer, proposal: AgreementProposalBody, handlers: LinkHandlers, signal: AbortSignal) => Promise<ProviderLink>

export class AgreementRejectedError extends ConunError {
  override readonly name = 'AgreementRejectedError'
  readonly code = 'agreement-rejected'
  readonly kind = 'refused'
}
