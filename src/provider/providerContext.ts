import type { NodeKey } from '../identity/index.ts'
import type { AgreementProposalBody } from '../net/index.ts'
import type { ProviderPayments } from './providerPayments.ts'
import type { Runtime, RuntimeName } from '../runtime/index.ts'
import type { FetchOptions, Storage } from '../storage/index.ts'
import type { EventHub, Semaphore } from '../util/index.ts'
import type { PeerId } from '@libp2p/interface'

/** What the agent tells its listeners (the node API, the dashboard). */
export type ProviderEvent =
  | { type: 'agreement.accepted', jobId: string, requester: string }
  | { type: 'task.queued', jobId: string, taskId: string }
  | { type: 'task.started', jobId: string, taskId: string }
  /** Cancelled while it still waited for a slot. */
  | { type: 'task.dropped', jobId: string, taskId: string }
  | { type: 'task.finished', jobId: string, taskId: string, status: 'exit' | 'failed', reason: string | undefined, wallMs: number }
  | { type: 'protocol.rejected', peer: string, code: string, message: string }
  | { type: 'receipt.received', jobId: string, cumulativeWei: string }
  | { type: 'receipt.rejected', jobId: string, reason: string }
  | { type: 'payment.claimed', jobId: string, cumulativeWei: string }
  /** A requester's tasks wait: too many results it was given are not yet paid for sure (see MAX_UNPAID_RESULTS). */
  | { type: 'payment.awaited', jobId: string, requester: string, unpaidResults: number }
  /** A job closed paying less than the requester's own receipt promised: proof of a cheating requester. */
  | { type: 'payment.short', jobId: string, requester: string, owedWei: string, paidWei: string }

export type AdmissionDecision = { accept: true, maxInFlight: number } | { accept: false, reason: string }


/** What a task needs of storage: large stdin in, large outputs out. */
export type TaskStorage = Pick<Storage, 'readBytes' | 'putBytes'>

/**
 * Task code and inputs, fetched by CID and verified, kept where the runtime reads them: `get`
 * answers the reference the runtime is given (a file path on a node, a key in memory in a browser).
 */
export interface ContentCache {
  get(cid: string, size: number, options?: FetchOptions): Promise<string>
}

/** Everything a task session needs, wired once by the agent. */
export interface ProviderContext {
  readonly key: NodeKey
  readonly chainId: number
  /** The sandboxes, by name; admission accepts only jobs whose runtime is here. */
  readonly runtimes: ReadonlyMap<RuntimeName, Runtime>
  readonly storage: TaskStorage
  readonly cache: ContentCache
  /** Tasks running at once across all sessions. */
  readonly slots: Semaphore
  /** Decides whether to take a job: the policy's limits, then (for a paid job) its escrow. */
  readonly admit: (proposal: AgreementProposalBody, requester: PeerId) => Promise<AdmissionDecision>
  /** Escrow checks, receipts and claims (absent on a node without a chain). */
  readonly payments: ProviderPayments | undefined
  readonly events: EventHub<ProviderEvent>
}
