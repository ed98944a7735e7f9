import type { BlobCache } from './blobCache.ts'
import type { NodeKey } from '../identity/index.ts'
import type { AgreementProposalBody } from '../net/index.ts'
import type { Runtime, RuntimeName } from '../runtime/index.ts'
import type { Storage } from '../storage/index.ts'
import type { EventHub, Semaphore } from '../util/index.ts'

/** What the agent tells its listeners (the node API, the dashboard). */
export type ProviderEvent =
  | { type: 'agreement.accepted', jobId: string, requester: string }
  | { type: 'task.queued', jobId: string, taskId: string }
  | { type: 'task.started', jobId: string, taskId: string }
  /** Cancelled while it still waited for a slot. */
  | { type: 'task.dropped', jobId: string, taskId: string }
  | { type: 'task.finished', jobId: string, taskId: string, status: 'exit' | 'failed', reason: string | undefined, wallMs: number }
  | { type: 'protocol.rejected', peer: string, code: string, message: string }

export type AdmissionDecision = { accept: true, maxInFlight: number } | { accept: false, reason: string }

/**
 * Decides whether to take a job. This is where a provider checks, before any work, that the job's
 * escrow holds enough to pay it (the ledger plugs in here).
 */
export type Admission = (proposal: AgreementProposalBody) => Promise<AdmissionDecision>

/** Everything a task session needs, wired once by the agent. */
export interface ProviderContext {
  readonly key: NodeKey
  readonly chainId: number
  /** The sandboxes, by name; admission accepts only jobs whose runtime is here. */
  readonly runtimes: ReadonlyMap<RuntimeName, Runtime>
  readonly storage: Storage
  readonly cache: BlobCache
  /** Tasks running at once across all sessions. */
  readonly slots: Semaphore
  readonly admit: Admission
  readonly events: EventHub<ProviderEvent>
}
