import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { createApi } from '../api/index.ts'
import { loadOrCreateNodeKey } from '../identity/index.ts'
import { OfferBook, ownOffer, startOfferExchange } from '../market/index.ts'
import { hostOptions, keepBootstrapped, PROTOCOL_OFFER, reachabilityOf, startStunServer } from '../net/index.ts'
import { createProviderAgent, ProviderPayments, SqliteReceiptBook } from '../provider/index.ts'
import { probeMachine } from '../resources/index.ts'
import { createRequester, EscrowSettlement, EvidenceStore, JobStore, libp2pLinks, ReputationStore } from '../requester/index.ts'
import { EventHub } from '../util/index.ts'
import { assertDevnetEndpoint, connectChain } from './connectChain.ts'
import { createStorage } from '../storage/index.ts'
import { openDatabase } from '../util/index.ts'
import { startLendingPolicy } from './lendingPolicy.ts'
import { maxConnectionsFor } from './connectionLimit.ts'
import { ipAndPort, planNetwork, stunServerOf } from './networkPlan.ts'
import { providerRuntimes } from './providerRuntimes.ts'
import { assertDevnetChain } from './config.ts'
import type { NodeConfig } from './config.ts'
import type { LendingPolicy } from './lendingPolicy.ts'
import type { Api } from '../api/index.ts'
import type { NodeKey } from '../identity/index.ts'
import type { OfferExchange } from '../market/index.ts'
import type { HostServices, Reachability } from '../net/index.ts'
import type { ProviderAgent, ProviderEvent } from '../provider/index.ts'
import type { Requester, Settlement } from '../requester/index.ts'
import type { Runtime, WebGpuRuntime } from '../runtime/index.ts'
import type { Storage } from '../storage/index.ts'
import type { NodeInfoFile } from '../sdk/index.ts'
import { claimPayment, escrowDeployment, resumeTransactions, watchChain } from '../ledger/index.ts'
import type { LedgerClient } from '../ledger/index.ts'
import type { Libp2p } from '@libp2p/interface'

export interface ConunNode {
  readonly config: NodeConfig
  readonly key: NodeKey
  readonly host: Libp2p<HostServices>
  readonly storage: Storage<HostServices>
  readonly offers: OfferBook
  readonly requester: Requester
  readonly provider: ProviderAgent | undefined
  readonly ledger: LedgerClient
  readonly api: Api
  /** Whether peers can reach this node, and through which relays. */
  reachability(): Reachability
  stop(): Promise<void>
}

/**
 * Starts a conun node: identity, libp2p + IPFS storage, offer exchange, requester, provider (when
 * asked to provide) and the local API, each handed only what it needs. `passphrase` unlocks (or
 * creates) the node's keystore.
 */
export interface StartNodeOptions {
  /** The WASI sandbox a provider runs tasks in (default: the WASI runtime); Docker is added when present. */
  readonly runtime?: (config: NodeConfig) => Runtime
  /** Wraps how the requester pays for its jobs (default: through the escrow as it is); the tests' withholding requester uses it. */
  readonly settlement?: (escrow: Settlement) => Settlement
}

export async function startNode (config: NodeConfig, passphrase: string, options: StartNodeOptions = {}): Promise<ConunNode> {
  const { dataDir } = config
  // Before a keystore is written with the public passphrase and the light KDF.
  assertDevnetChain(config)
  await assertDevnetEndpoint(config)
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const { key } = await loadOrCreateNodeKey(join(dataDir, 'node.key.json'), passphrase, config.devnet ? 'light' : 'standard')
  const db = openDatabase(join(dataDir, 'conun.db'))
  const chain = await connectChain(config, key, db).catch((error: unknown) => {
    db.close()
    throw error
  })
  // Transactions a previous run left in flight go out again before this one sends anything.
  await resumeTransactions(chain.client)
  const deployment = await escrowDeployment(chain.client)
  const chainWatch = watchChain(chain.client)
  const plan = planNetwork(config)
  let reachability = (): Reachability => reachabilityOf([], plan.mode, plan.publicAddrs.length > 0)
  const storage = await createStorage(join(dataDir, 'ipfs'), await hostOptions({
    privateKey: key.privateKey,
    listen: config.listen,
    announce: config.network.announce,
    bootstrap: config.bootstrap,
    allowPrivateAddresses: plan.mode === 'lan',
    relayService: plan.relayService,
    relayReservations: plan.relayReservations,
    holePunching: plan.holePunching,
    autoNat: plan.mode === 'internet',
    maxConnections: maxConnectionsFor(config.scheduler.maxProviders),
    // The relays this node holds slots on answer STUN too, wherever it found them.
    stunServers: () => [...new Set([...plan.stunServers, ...reachability().relays.flatMap(relay => {
      const endpoint = ipAndPort(relay.address)
      return endpoint === undefined ? [] : [stunServerOf(endpoint)]
    })])],
  }))
  const host = storage.libp2p
  reachability = () => reachabilityOf(host.getMultiaddrs().map(String), plan.mode, plan.publicAddrs.length > 0)
  const stunServers = await Promise.all(plan.stunListen.map(async ({ host: ip, port }) => startStunServer(ip, port)))
  const offers = new OfferBook({ isConnected: peerId => host.getConnections(peerIdFromString(peerId)).length > 0 })

  let runtimes: Runtime[] = []
  let provider: ProviderAgent | undefined
  let payments: ProviderPayments | undefined
  let lending: LendingPolicy | undefined
  let currentOffer
  if (config.provide) {
    const events = new EventHub<ProviderEvent>()
    payments = new ProviderPayments({
      chain: chain.client,
      payout: key.address,
      receipts: new SqliteReceiptBook(db, { ...chain.client.info, deployment }),
      claim: claim => claimPayment(chain.client, claim),
      events,
      policy: {
        priceWei: BigInt(config.provider.pricePerTaskWei),
        claimThresholdWei: BigInt(config.provider.claimThresholdWei),
        claimDelayMs: config.provider.claimDelayMs,
        cores: config.provider.cores,
      },
    })
    runtimes = await providerRuntimes(config, options.runtime)
    provider = await createProviderAgent({
      key,
      host,
      storage,
      runtimes,
      chainId: config.chainId,
      dataDir,
      events,
      payments,
      policy: {
        maxConcurrent: config.provider.cores,
        maxTaskMemoryBytes: config.provider.maxTaskMemoryMb * 1024 * 1024,
        maxTaskTimeoutMs: config.provider.maxTaskTimeoutMs,
        maxTaskOutputBytes: config.provider.maxTaskOutputMb * 1024 * 1024,
        maxQueuedPerSession: config.provider.maxQueuedPerSession,
        ...(config.provider.maxCacheMb === 0 ? {} : { maxCacheBytes: config.provider.maxCacheMb * 1024 * 1024 }),
      },
    })
    lending = startLendingPolicy({ lending: config.provider.lending, provider, runtimes })
    const machine = probeMachine()
    const gpu = runtimes.find((runtime): runtime is WebGpuRuntime => runtime.name === 'webgpu')?.gpu
    currentOffer = ownOffer(key, () => ({
      chainId: config.chainId,
      runtimes: runtimes.map(runtime => runtime.name),
      cores: config.provider.cores,
      memoryBytes: Math.min(machine.memoryBytes, config.provider.maxTaskMemoryMb * 1024 * 1024 * config.provider.cores),
      cpuModel: machine.cpuModel,
      speed: machine.speed,
      ...(gpu === undefined ? {} : { gpu }),
      pricePerTaskWei: config.provider.pricePerTaskWei,
      // Relay (circuit) addresses first: a NAT'd provider's LAN address is no use to anyone outside.
      addrs: offerAddrs(host.getMultiaddrs().map(String), plan.mode),
    }))
  }
  const exchange: OfferExchange = await startOfferExchange({ host, book: offers, chainId: config.chainId, ownOffer: currentOffer, collect: !config.provide })

  const jobStore = new JobStore(db)
  const requester = createRequester({
    key,
    chainId: config.chainId,
    store: jobStore,
    reputation: new ReputationStore(db),
    evidence: new EvidenceStore(db),
    storage,
    offers,
    openLink: libp2pLinks(host, key, config.chainId, { allowPrivate: plan.mode === 'lan', addrsOf: peerId => offers.get(peerId)?.body.addrs ?? [] }),
    settlement: events => {
      const escrow = new EscrowSettlement({ client: chain.client, key, db, store: jobStore, events, topUpWei: BigInt(config.escrowTopUpWei), deployment })
      return options.settlement?.(escrow) ?? escrow
    },
    config: config.scheduler,
  })
  // A provider node gathers the grid's offers once it has requested (see OfferExchangeInit.collect).
  if (jobStore.jobs(1).length > 0) exchange.collect()
  requester.events.on(event => { if (event.type === 'job.submitted') exchange.collect() })
  requester.resume()
  reconnectKnownProviders(host)
  const stopBootstrapping = keepBootstrapped(host, config.bootstrap)

  const token = await loadOrCreateToken(join(dataDir, 'api-token'))
  const provideToken = await loadOrCreateToken(join(dataDir, 'provide-token'))
  const api = await createApi({ host: config.apiHost, port: config.apiPort, token, provideToken, node: { key, host, storage, offers, requester, provider, chainId: config.chainId, ledger: chain.client, escrowDeployment: deployment, chainHealth: chainWatch.status, payments, reachability } })
  const info: NodeInfoFile = {
    apiUrl: api.url,
    peerId: key.peerId.toString(),
    address: key.address,
    multiaddrs: host.getMultiaddrs().map(addr => addr.toString()),
    pid: process.pid,
  }
  await writeFile(join(dataDir, 'node.json'), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 })

  let stopped = false
  return {
    config,
    key,
    host,
    storage,
    offers,
    requester,
    provider,
    ledger: chain.client,
    api,
    reachability,
    async stop () {
      if (stopped) return
      stopped = true
      stopBootstrapping()
      await api.close()
      await requester.stop()
      await exchange.stop()
      await lending?.stop()
      await provider?.stop()
      await Promise.all(runtimes.map(runtime => runtime.close()))
      await storage.stop()
      await Promise.all(stunServers.map(async server => server.close()))
      db.close()
      chainWatch.stop()
      await chain.devChain?.close()
      await rm(join(dataDir, 'node.json'), { force: true })
    },
  }
}

/** What a provider's offer tells requesters to dial: on the internet, no private address; relay addresses first; at most what the schema allows. */
function offerAddrs (advertised: string[], mode: 'internet' | 'lan'): string[] {
  const circuits = advertised.filter(addr => addr.includes('/p2p-circuit'))
  return [...circuits, ...reachabilityOf(advertised, mode, false).addresses].slice(0, 32)
}

/**
 * After a restart, dials the providers this node knew (libp2p keeps its peer store in the data
 * dir), so the jobs it resumes find their providers again without waiting for gossip.
 */
function reconnectKnownProviders (host: Libp2p<HostServices>): void {
  void (async () => {
    for (const peer of await host.peerStore.all()) {
      if (!peer.protocols.includes(PROTOCOL_OFFER) || peer.addresses.length === 0) continue
      host.dial(peer.id, { signal: AbortSignal.timeout(10_000) }).catch(() => { /* gone for good, or not yet back */ })
    }
  })()
}

/**
 * A token of the API (api-token, or the provide link's provide-token), created once per data dir
 * and readable only by its owner: a file made readable since is closed again.
 */
async function loadOrCreateToken (path: string): Promise<string> {
  const kept = await readFile(path, 'utf8').then(text => text.trim(), () => undefined)
  if (kept !== undefined && /^[0-9a-f]{64}$/.test(kept)) {
    await chmod(path, 0o600)
    return kept
  }
  const token = randomBytes(32).toString('hex')
  // writeFile's mode applies only to a new file: a damaged one is replaced, not rewritten in place.
  await rm(path, { force: true })
  await writeFile(path, token + '\n', { mode: 0o600 })
  return token
}
