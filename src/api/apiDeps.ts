import type { NodeKey } from '../identity/index.ts'
import type { OfferBook } from '../market/index.ts'
import type { HostServices, Reachability } from '../net/index.ts'
import type { ProviderAgent, ProviderPayments } from '../provider/index.ts'
import type { ChainHealth, LedgerClient } from '../ledger/index.ts'
import type { Requester } from '../requester/index.ts'
import type { Storage } from '../storage/index.ts'
import type { Libp2p } from '@libp2p/interface'

/** The parts of a node the API reads and drives. */
export interface ApiDeps {
  readonly key: NodeKey
  readonly host: Libp2p<HostServices>
  readonly storage: Storage
  readonly offers: OfferBook
  readonly requester: Requester
  readonly provider: ProviderAgent | undefined
  readonly chainId: number
  /** The node's chain client (its account is the node key). */
  readonly ledger: LedgerClient
  /** Which deployment of the escrow the node pays and is paid through (see escrowDeployment). */
  readonly escrowDeployment: string
  /** Whether the chain answers, as last checked. */
  readonly chainHealth: () => ChainHealth
  /** Receipts held and claims made, when the node provides. */
  readonly payments: ProviderPayments | undefined
  /** Whether peers can reach this node, and through which relays. */
  readonly reachability: () => Reachability
}
