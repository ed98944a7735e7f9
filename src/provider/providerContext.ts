import type { NodeKey } from '../identity/index.ts'
import type { AgreementProposalBody } from '../net/index.ts'
import type { ProviderPayments } from './providerPayments.ts'
import type { Runtime, RuntimeName } from '../runtime/index.ts'
import type { FetchOptions, Storage } from '../storage/index.ts'
import type { EventHub, Semaphore } from '../util/index.ts'
import type { AdmissionDecision, ProviderEvent } from './providerEvents.ts'
import type { PeerId } from '@libp2p/interface'

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
