/**
 * A browser joins the grid as a provider: a libp2p host over WebSockets (dialling the node that
 * served the page), a signed `wasi` offer (and `webgpu`, with its adapter, where the browser gives
 * one) over /conun/offer/1.0.0 and gossip, and the provider agent of src/provider (the same
 * agreement, task and signed-results protocol as a node's) running tasks in Web Workers. Paid jobs
 * are checked and their receipts kept by the provider's payments, reading the escrow through the
 * node; the requester's settlement pays the tab's payout address.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { OfferBook, ownOffer, startOfferExchange } from '../../market/index.ts'
import { createProviderAgent, ProviderPayments } from '../../provider/index.ts'
import { GOSSIP_OPTIONS } from '../../net/index.ts'
import { EventHub } from '../../util/index.ts'
import { BrowserContent } from './browserContent.ts'
import { createBrowserGpuRuntime } from './browserGpuRuntime.ts'
import { createBrowserRuntime } from './browserRuntime.ts'
import type { NodeKey } from '../../identity/index.ts'
import type { ChainReader } from '../../ledger/index.ts'
import type { ProviderAgent, ProviderEvent, ReceiptBook } from '../../provider/index.ts'
import type { Address } from 'viem'

/** After a paid job's session ends, the tab reads whether the requester's settlement paid it (then backs off). */
const SETTLEMENT_CHECK_MS = 2_000
/** A tab has no wallet to claim with: no amount makes it claim during a job. */
const NEVER_CLAIM_WEI = 2n ** 256n

export interface BrowserProviderInit {
  readonly key: NodeKey
  readonly chainId: number
  /** The node to join through: its WebSocket multiaddr, with /p2p/<id>. */
  readonly bootstrap: string
  /** Tasks run at once (one Web Worker each). */
  readonly slots: number
  readonly pricePerTaskWei: string
  /** Where the requester's settlement pays this tab (named in its offer). */
  readonly payout: Address
  /** Reads the escrow, through the node that served the page. */
  readonly chain: ChainReader
  /** The tab's receipts for `payout`, kept across its pauses. */
  readonly receipts: ReceiptBook
}

export interface BrowserProvider {
  readonly agent: ProviderAgent
  /** WASI sandbox time given so far, in ms. */
  busyMs(): number
  /** GPU tasks this provider ran to completion. */
  gpuTasksDone(): number
  stop(): Promise<void>
}

export async function startBrowserProvider (init: BrowserProviderInit): Promise<BrowserProvider> {
  const host = await createLibp2p({
    privateKey: init.key.privateKey,
    // A slot on the relay of the node that served the page: any requester that can reach that node
    // reaches this tab through it (nobody can dial a browser).
    addresses: { listen: ['/p2p-circuit'] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Browsers refuse to dial private addresses by default; the node that served this page is one.
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping(),
      pubsub: gossipsub(GOSSIP_OPTIONS),
    },
  })
  const content = new BrowserContent(host)
  await content.start()
  const runtime = createBrowserRuntime(init.slots, reference => content.bytes(reference))
  const events = new EventHub<ProviderEvent>()
  const payments = new ProviderPayments({
    chain: init.chain,
    payout: init.payout,
    receipts: init.receipts,
    events,
    policy: { priceWei: BigInt(init.pricePerTaskWei), claimThresholdWei: NEVER_CLAIM_WEI, claimDelayMs: SETTLEMENT_CHECK_MS, cores: init.slots },
  })
  const gpu = await createBrowserGpuRuntime(reference => content.bytes(reference))
  const agent = await createProviderAgent({
    key: init.key,
    host,
    storage: content,
    cache: content,
    runtimes: gpu === null ? [runtime] : [runtime, gpu],
    chainId: init.chainId,
    events,
    payments,
    policy: {
      maxConcurrent: init.slots,
      maxTaskMemoryBytes: 1024 * 1024 * 1024,
      maxTaskTimeoutMs: 3_600_000,
      maxTaskOutputBytes: 1024 * 1024 * 1024,
      // Enough queued that the worker never waits for the next assignment (results go back in batches);
      // a tab that pauses loses these to other providers, so not the node default of 64.
      maxQueuedPerSession: 32,
    },
  })
  const memoryGiB = (navigator as { deviceMemory?: number }).deviceMemory ?? 2
  const exchange = await startOfferExchange({
    host,
    book: new OfferBook(),
    chainId: init.chainId,
    // A tab only provides: it announces its offer and gathers nobody else's.
    collect: false,
    ownOffer: ownOffer(init.key, () => ({
      chainId: init.chainId,
      runtimes: gpu?.usable === true ? ['wasi', 'webgpu'] : ['wasi'],
      ...(gpu === null ? {} : { gpu: gpu.gpu }),
      cores: init.slots,
      memoryBytes: Math.round(memoryGiB * 1024 ** 3),
      cpuModel: `browser: ${navigator.userAgent.slice(0, 160)}`,
      pricePerTaskWei: init.pricePerTaskWei,
      payout: init.payout,
      // Its relayed addresses (once it holds a slot); the node that served it reaches it directly.
      addrs: host.getMultiaddrs().map(String).filter(addr => addr.includes('/p2p-circuit')).slice(0, 32),
    })),
  })
  await host.dial(multiaddr(init.bootstrap))
  return {
    agent,
    busyMs: () => runtime.busyMs,
    gpuTasksDone: () => gpu?.done ?? 0,
    async stop () {
      await exchange.stop()
      await agent.stop()
      await runtime.close()
      await gpu?.close()
      await host.stop()
    },
  }
}
