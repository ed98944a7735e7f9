/**
 * The node API's responses, declared once: the routes' contract, and what the SDK's ConunClient
 * and the web pages' client read (type-only, so it costs a browser bundle nothing).
 */
import type { EndedTask, Evidence, JobRecord, LineRelease, ProviderReputation, RequesterEvent, TaskResultSummary } from '../requester/index.ts'

export type { TaskResultSummary }
import type { ConnectionPath, OfferBody, Reachability } from '../net/index.ts'
import type { ChainHealth } from '../ledger/index.ts'
import type { ProviderEvent, ProviderStatus } from '../provider/index.ts'

export interface NodeSummary {
  readonly peerId: string
  readonly address: string
  readonly chainId: number
  /** Whether the node's chain RPC answers; jobs keep running while it does not, and settle when it is back. */
  readonly chain: ChainHealth
  readonly multiaddrs: string[]
  readonly reachability: Reachability
  readonly provider: ProviderStatus | null
  readonly runningJobs: number
}

/** What a browser provider needs to join the grid through this node (GET /v1/provide). */
export interface ProvideSummary {
  readonly peerId: string
  readonly chainId: number
  /** The node's WebSocket listen addresses, with /p2p/<peerId>. */
  readonly multiaddrs: string[]
  /**
   * conun's contracts on that chain, readable through POST /v1/provide/chain; logs from the escrow's
   * deployment block (decimal) on; a state counts once `confirmations` blocks are on top of it.
   */
  readonly chain: { readonly token: `0x${string}`, readonly escrow: `0x${string}`, readonly deploymentBlock: string, readonly deployment: string, readonly confirmations: number }
}

export interface PeerSummary {
  readonly peerId: string
  readonly connected: boolean
  /** Open connections and how each reaches the peer. */
  readonly connections: Array<{ readonly addr: string, readonly path: ConnectionPath }>
  readonly addrs: string[]
  readonly offer: OfferBody | null
  /** How this node's jobs went on that provider, if it ever worked for them. */
  readonly reputation: ProviderReputation | null
}

export type NodeEvent = ({ source: 'requester' } & RequesterEvent) | ({ source: 'provider' } & ProviderEvent)

/** The node account: its balances, and as a provider the receipts it holds (GET /v1/wallet). */
export interface WalletSummary {
  readonly address: string
  readonly chainId: number
  readonly token: string
  readonly escrow: string
  readonly conWei: string
  readonly ethWei: string
  /** The node's standing balance in the escrow that no payment line holds (what its jobs draw on). */
  readonly escrowFreeWei: string
  /** As a provider, each requester's best receipt on its payment line here. */
  readonly receipts: Array<{ requester: string, jobId: string, cumulativeWei: string, paidWei: string, state: 'open' | 'settled' | 'short' }>
}

/** POST /v1/wallet/release: the node's payment lines that hold something, as the release left them. */
export interface LineReleaseSummary {
  readonly lines: LineRelease[]
}


/** GET /v1/jobs/:id/results: every task, in index order (with `from` and `limit`: those tasks only). */
export interface JobResults {
  readonly job: JobRecord
  readonly tasks: TaskResultSummary[]
  /** The `after` from which `endedTasks` pages through the tasks that end after this answer. */
  readonly next: number
}

/** GET /v1/jobs/:id/results?after=N: one page of the tasks that ended after number N, in the order they ended. */
export interface EndedTasksPage {
  readonly job: JobRecord
  readonly tasks: Array<EndedTask & { readonly replicasReturned: number }>
  /** The `after` of the following page. */
  readonly next: number
}

/** A provider's result judged wrong, with the signed batch that proves what it sent. */
export type EvidenceSummary = Evidence
