import { autoNATv2 } from '@libp2p/autonat-v2'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { pacedWalks } from './pacedWalks.ts'
import { GOSSIP_OPTIONS } from './gossipOptions.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import { KEEP_ALIVE } from '@libp2p/interface'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What a relay grants each relayed connection. 0 means no cap; relayed sessions resume when a cap cuts them. */
export interface RelayServiceLimits {
  /** Reservations held at once (each one is a NAT'd peer reachable through this node). */
  readonly maxReservations: number
  /** How long one relayed connection may stay open. */
  readonly connectionDurationSec: number
  /** How many bytes one relayed connection may carry, both ways together. */
  readonly connectionDataMb: number
}

export interface HostConfig {
  readonly privateKey: PrivateKey
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/0 and /ip4/127.0.0.1/tcp/0/ws. */
  readonly listen: readonly string[]
  /** Multiaddrs others can dial this node at, beyond what it listens on (a port forwarded by hand). */
  readonly announce?: readonly string[]
  /** Multiaddrs (with /p2p/<id>) of known peers to join the network through. */
  readonly bootstrap: readonly string[]
  /**
   * Keep loopback and private addresses in the DHT. True for a grid on one machine or one LAN;
   * false on the public internet, where such addresses only waste dials.
   */
  readonly allowPrivateAddresses: boolean
  /** Relay for NAT'd peers (circuit relay v2), with these caps; undefined: no relay service. */
  readonly relayService?: RelayServiceLimits
  /** Relay slots to hold on public relays, so that this node can be reached behind a NAT (default 0). */
  readonly relayReservations?: number
  /** Check this node's public addresses with peers (AutoNAT v2): for nodes on the internet. */
  readonly autoNat?: boolean
  /**
   * Hole-punch through NATs with WebRTC (default false): for nodes that meet NAT'd peers, i.e. on
   * the internet. Only such nodes load WebRTC (libdatachannel and its bindings: about 14 MB RSS).
   */
  readonly holePunching?: boolean
  /** STUN servers for WebRTC hole punching ("host:port"), asked for each new connection (default none). */
  readonly stunServers?: () => readonly string[]
  /** Connections held at most before libp2p prunes the least valued (default 300). */
  readonly maxConnections?: number
}

export interface HostServices {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  relay?: CircuitRelayService
  [key: string]: unknown
}

/** Random walks over the DHT (looking for relays or AutoNAT peers) start at most this often. */
const WALK_INTERVAL_MS = 30_000

/** conun's DHT is its own, so it never mixes with the public IPFS DHT. */
export const DHT_PROTOCOL = '/conun/kad/1.0.0'

/**
 * The libp2p configuration of a conun node: TCP and WebSockets (for browsers), circuit relay v2
 * (reaching and serving NAT'd peers) and, when it hole-punches, WebRTC (through NATs, signalled
 * over a relay), noise, yamux, identify and ping, AutoNAT v2, Kademlia and bootstrap for discovery,
 * gossipsub for offers. The host itself is created by the storage domain, because Helia (IPFS)
 * runs on the same libp2p instance.
 */
export async function hostOptions (config: HostConfig): Promise<Libp2pOptions<HostServices>> {
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  // Bootstrap peers are kept alive: if one restarts, this node dials it again (with backoff).
  if (config.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: [...config.bootstrap], timeout: 0, tagName: KEEP_ALIVE }))
  // One /p2p-circuit listen address per relay slot wanted; /webrtc accepts hole-punched connections signalled through them.
  const reservations = config.relayReservations ?? 0
  const holePunching = config.holePunching === true
  const relayListen = reservations > 0 ? [...Array<string>(reservations).fill('/p2p-circuit'), ...(holePunching ? ['/webrtc'] : [])] : []
  const announce = config.announce ?? []
  return {
    privateKey: config.privateKey,
    addresses: { listen: [...config.listen, ...relayListen], ...(announce.length > 0 ? { appendAnnounce: [...announce] } : {}) },
    transports: [
      tcp(),
      webSockets(),
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
      ...(holePunching ? [await webRtcTransport(config)] : []),
    ],
    connectionGater: { denyDialMultiaddr: async addr => overWebSockets(addr) },
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: {
      maxConnections: config.maxConnections ?? 300,
      reconnectRetries: 10,
      reconnectRetryInterval: 500,
      reconnectBackoffFactor: 2,
      // libp2p refuses more than 5 new connections a second from one IP address. On a LAN or one
      // machine (a grid behind one NAT, or the local devnet) a bootstrap node meets dozens at once.
      inboundConnectionThreshold: config.allowPrivateAddresses ? 1000 : 20,
      maxIncomingPendingConnections: 64,
    },
    services: {
      identify: identify(),
      // Tells connected peers when this node starts serving a protocol (e.g. offers, once it provides).
      identifyPush: identifyPush(),
      ping: ping(),
      dht: pacedWalks(kadDHT({
        protocol: DHT_PROTOCOL,
        // A node nobody can dial answers no DHT queries: it would only time out others' lookups.
        clientMode: reservations > 0,
        ...(config.allowPrivateAddresses ? {} : { peerInfoMapper: removePrivateAddressesMapper }),
      }), WALK_INTERVAL_MS),
      pubsub: gossipsub(GOSSIP_OPTIONS),
      ...(config.autoNat === true ? { autoNat: autoNATv2() } : {}),
      ...(config.relayService === undefined ? {} : { relay: relayServer(config.relayService) }),
    },
  }
}

/**
 * A node dials other nodes over TCP (or through a relay, or WebRTC), never over WebSockets: a /ws
 * address is for browser tabs, which reach nodes no other way. libp2p tries one only after TCP to
 * the same node failed, and in Node its client is undici's WebSocket, which loads all of undici into
 * the process for good (with viem's fetch, undici cost a provider 3–4 MB of its peak; 2026-12-07).
 */
function overWebSockets (addr: Multiaddr): boolean {
  return addr.getComponents().some(component => component.name === 'ws' || component.name === 'wss')
}

/** Loaded only by nodes that hole-punch. */
async function webRtcTransport (config: HostConfig): Promise<NonNullable<Libp2pOptions['transports']>[number]> {
  const { webRTC } = await import('@libp2p/webrtc')
  // Only STUN servers conun knows of (its bootstrap and relay nodes, or configured ones): never
  // the public defaults libp2p would otherwise use.
  return webRTC({ rtcConfiguration: () => ({ iceServers: (config.stunServers?.() ?? []).map(server => ({ urls: `stun:${server}` })) }) })
}

function relayServer (limits: RelayServiceLimits): ReturnType<typeof circuitRelayServer> {
  const capped = limits.connectionDurationSec > 0 || limits.connectionDataMb > 0
  return circuitRelayServer({
    reservations: {
      maxReservations: limits.maxReservations,
      applyDefaultLimit: capped,
      // libp2p treats an absent cap as its small default: "no cap" is a very large one instead.
      defaultDurationLimit: (limits.connectionDurationSec > 0 ? limits.connectionDurationSec : 365 * 24 * 3600) * 1000,
      defaultDataLimit: BigInt(limits.connectionDataMb > 0 ? limits.connectionDataMb : 1024 * 1024) * 1024n * 1024n,
    },
  })
}
