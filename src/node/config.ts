import { availableParallelism, homedir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { DEVNET_CHAIN_ID } from '../ledger/index.ts'
import { DEFAULT_ESCROW_TOP_UP_WEI } from '../requester/index.ts'
import { ConunError } from '../util/index.ts'

/** The devnet passphrase: only for the local demo and tests, and labelled so wherever it is used. */
export const DEVNET_PASSPHRASE = 'conun-devnet-insecure'
export { DEVNET_CHAIN_ID }

/** A multiaddr, checked here: a bad one would otherwise stop libp2p at start with a stack trace. */
const multiaddrText = z.string().min(1).refine(text => {
  try {
    multiaddr(text)
    return true
  } catch {
    return false
  }
}, { message: 'not a multiaddr (e.g. /ip4/203.0.113.7/tcp/4001)' })

export const nodeConfig = z.strictObject({
  dataDir: z.string().min(1),
  listen: z.array(multiaddrText).min(1),
  bootstrap: z.array(multiaddrText.refine(text => /\/p2p\/[A-Za-z0-9]+$/.test(text), { message: 'a bootstrap address ends in /p2p/<PeerId>' })),
  /**
   * Keep loopback/LAN addresses in the DHT and dial them (a grid on one machine or LAN). auto: yes,
   * unless this node or one of its bootstrap peers has a public address (a grid on the internet).
   */
  allowPrivateAddresses: z.union([z.boolean(), z.literal('auto')]),
  network: z.strictObject({
    /** Addresses others can dial this node at, besides its listen addresses (a port forwarded by hand). */
    announce: z.array(multiaddrText),
    /** Relay for NAT'd peers. auto: unless this node is behind a NAT itself (it holds relay slots). */
    relay: z.enum(['auto', 'on', 'off']),
    /** What this node grants each peer it relays for; 0 means no cap. */
    relayLimits: z.strictObject({
      maxReservations: z.number().int().min(1).max(100_000),
      connectionDurationSec: z.number().int().min(0),
      connectionDataMb: z.number().int().min(0),
    }),
    /**
     * Hold slots on relays so that peers can reach this node. auto: when it has no public address
     * and a public node is among its bootstrap peers (a home machine behind a NAT).
     */
    reserveRelays: z.enum(['auto', 'on', 'off']),
    /** Relays to hold a slot on at once, so that losing one leaves it reachable. */
    relaySlots: z.number().int().min(1).max(8),
    /** STUN servers for hole punching, "host:port", besides the public bootstrap nodes (which answer STUN). */
    stunServers: z.array(z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port')),
  }),
  apiHost: z.string().min(1),
  /** 0 picks a free port; the chosen URL is written to <dataDir>/node.json. */
  apiPort: z.number().int().min(0).max(65535),
  chainId: z.number().int().min(1),
  /** Where payments settle. rpcUrl null: the embedded dev chain, started and deployed by the node. */
  chain: z.strictObject({
    rpcUrl: z.url({ protocol: /^https?$/ }).nullable(),
    token: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a contract address').nullable(),
    escrow: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a contract address').nullable(),
    /** The escrow's deployment block (logs are read from it on); null: found on the chain at start. */
    deploymentBlock: z.number().int().min(0).nullable(),
    /** Blocks on top before an escrow counts as open and a settlement as done (0 on the dev chain). */
    confirmations: z.number().int().min(0).max(256),
    /** The most a transaction may pay per gas, in gwei (EIP-1559 maxFeePerGas); null: what the chain asks. */
    maxFeeGwei: z.number().positive().max(1_000_000).nullable(),
    /** Port of the embedded dev chain's JSON-RPC (0 picks a free one). */
    devChainPort: z.number().int().min(0).max(65535),
  }).refine(chain => chain.rpcUrl === null || (chain.token !== null && chain.escrow !== null), { message: 'with an RPC endpoint, give the token and escrow contract addresses too' }),
  /**
   * A requester opens jobs from its standing balance in the escrow; when a job needs more than is
   * free there it deposits at least this much (wei), so one deposit serves several jobs.
   */
  escrowTopUpWei: z.string().regex(/^\d{1,78}$/),
  /** Devnet mode: the well-known passphrase and a light keystore KDF. Never for real funds. */
  devnet: z.boolean(),
  provide: z.boolean(),
  provider: z.strictObject({
    cores: z.number().int().min(1).max(4096),
    maxTaskMemoryMb: z.number().int().min(1),
    maxTaskTimeoutMs: z.number().int().min(10),
    maxTaskOutputMb: z.number().int().min(0),
    maxQueuedPerSession: z.number().int().min(0).max(4096),
    /** Disk for fetched code and inputs; the least recently used go first. 0: no limit. */
    maxCacheMb: z.number().int().min(0),
    pricePerTaskWei: z.string().regex(/^\d{1,78}$/),
    /** Claim during a job once this much (wei) is owed and unclaimed. */
    claimThresholdWei: z.string().regex(/^\d{1,78}$/),
    /** After a job ends, how long the requester has to settle before the provider claims itself. */
    claimDelayMs: z.number().int().min(0),
    /**
     * Sandboxes this provider may run; `docker` is offered only when a Docker Engine answers, `webgpu`
     * only when a GPU adapter is found at start.
     */
    runtimes: z.array(z.enum(['wasi', 'docker', 'webgpu'])).min(1),
    /** Offer `webgpu` on SwiftShader, a GPU emulated on the CPU (slow: for tests and CI), when no GPU is found. */
    softwareGpu: z.boolean(),
    /** The Docker Engine's unix socket. */
    dockerSocket: z.string().min(1),
    /** When the machine is lent (see resources/idlePolicy.ts). */
    lending: z.strictObject({
      /** Take tasks only while other programs leave the CPU idle. */
      idleOnly: z.boolean(),
      /** CPU share, in %, other programs may use before the machine counts as busy. */
      busyAbovePercent: z.number().min(0).max(100),
      /** How long the machine must stay quiet before tasks start or resume. */
      idleForSec: z.number().min(0),
      /** Paused tasks are given back after this long. */
      maxPausedSec: z.number().min(0),
      /** Daily windows when tasks may run, "HH:MM-HH:MM" in local time; empty: any time. */
      windows: z.array(z.string().regex(/^\d{1,2}:\d{2}-\d{1,2}:\d{2}$/, 'use HH:MM-HH:MM, e.g. 22:00-07:00')),
      runOnBattery: z.boolean(),
      /** How often the machine is read. */
      checkEverySec: z.number().min(0.1),
    }),
  }),
  scheduler: z.strictObject({
    maxInFlightPerProvider: z.number().int().min(1).max(4096),
    maxProviders: z.number().int().min(1).max(4096),
    deadlineGraceMs: z.number().int().min(0),
    reconnectBackoffMs: z.number().int().min(0),
    spotCheckSeed: z.number().int().nullable(),
  }),
})
export type NodeConfig = z.infer<typeof nodeConfig>

export function defaultDataDir (): string {
  return process.env.CONUN_DATA_DIR ?? join(homedir(), '.conun')
}

export function defaultNodeConfig (): NodeConfig {
  return {
    dataDir: defaultDataDir(),
    listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
    bootstrap: [],
    allowPrivateAddresses: 'auto',
    network: {
      announce: [],
      relay: 'auto',
      relayLimits: { maxReservations: 128, connectionDurationSec: 3600, connectionDataMb: 4096 },
      reserveRelays: 'auto',
      relaySlots: 2,
      stunServers: [],
    },
    apiHost: '127.0.0.1',
    apiPort: 0,
    chainId: DEVNET_CHAIN_ID,
    chain: { rpcUrl: null, token: null, escrow: null, deploymentBlock: null, confirmations: 0, maxFeeGwei: null, devChainPort: 0 },
    escrowTopUpWei: String(DEFAULT_ESCROW_TOP_UP_WEI),
    devnet: false,
    provide: false,
    provider: {
      cores: availableParallelism(),
      maxTaskMemoryMb: 2048,
      maxTaskTimeoutMs: 3_600_000,
      maxTaskOutputMb: 1024,
      maxQueuedPerSession: 64,
      maxCacheMb: 0,
      pricePerTaskWei: '0',
      claimThresholdWei: String(100n * 10n ** 18n),
      claimDelayMs: 10_000,
      runtimes: ['wasi', 'docker', 'webgpu'],
      softwareGpu: false,
      dockerSocket: '/var/run/docker.sock',
      lending: { idleOnly: false, busyAbovePercent: 30, idleForSec: 60, maxPausedSec: 600, windows: [], runOnBattery: false, checkEverySec: 5 },
    },
    scheduler: { maxInFlightPerProvider: 64, maxProviders: 64, deadlineGraceMs: 30_000, reconnectBackoffMs: 5_000, spotCheckSeed: null },
  }
}

export class ConfigError extends ConunError {
  override readonly name = 'ConfigError'
  readonly code = 'invalid-config'
  readonly kind = 'invalid'
}

/**
 * --devnet's passphrase is published and its keystore KDF light: only the dev chain, whose coins
 * are worth nothing, may use it. (connectChain checks the RPC endpoint really is that chain.)
 */
export function assertDevnetChain (config: Pick<NodeConfig, 'devnet' | 'chainId'>): void {
  if (config.devnet && config.chainId !== DEVNET_CHAIN_ID) {
    throw new ConfigError(`--devnet (or "devnet": true in config.json) is only for the dev chain ${DEVNET_CHAIN_ID}: its passphrase is public and its keystore easy to crack. ` +
      `For chain ${config.chainId}, drop it and give your own passphrase with --passphrase-file or CONUN_PASSPHRASE (or type it when asked).`)
  }
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends Array<unknown> ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] }
export type NodeConfigOverrides = DeepPartial<NodeConfig>

function merge<T> (base: T, overrides: unknown): T {
  if (overrides === undefined) return base
  if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) return overrides as T
  const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) }
  for (const [key, value] of Object.entries(overrides)) merged[key] = value === undefined ? merged[key] : merge(merged[key], value)
  return merged as T
}

/**
 * The node's configuration: defaults, then `<dataDir>/config.json` if present, then `overrides`
 * (command-line flags). Unknown keys and bad values are errors that name the key.
 */
export async function loadNodeConfig (overrides: NodeConfigOverrides, readConfigFile: (path: string) => Promise<string | undefined>): Promise<NodeConfig> {
  const dataDir = overrides.dataDir ?? defaultDataDir()
  const path = join(dataDir, 'config.json')
  let fromFile: unknown
  const text = await readConfigFile(path)
  if (text !== undefined) {
    try {
      fromFile = JSON.parse(text)
    } catch (error) {
      throw new ConfigError(`${path} is not valid JSON: ${(error as Error).message}`)
    }
  }
  const parsed = nodeConfig.safeParse(merge(merge(defaultNodeConfig(), fromFile), { ...overrides, dataDir }))
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration (${text === undefined ? 'flags' : `${path} and flags`}):\n  - ${parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('\n  - ')}`)
  }
  assertDevnetChain(parsed.data)
  return parsed.data
}
