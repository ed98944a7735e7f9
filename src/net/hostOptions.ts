import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import { KEEP_ALIVE } from '@libp2p/interface'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'

export interface HostConfig {
  readonly privateKey: PrivateKey
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/0 and /ip4/127.0.0.1/tcp/0/ws. */
  readonly listen: readonly string[]
  /** Multiaddrs (with /p2p/<id>) of known peers to join the network through. */
  readonly bootstrap: readonly string[]
  /**
   * Keep loopback and private addresses in the DHT. True for a grid on one machine or one LAN;
   * false on the public internet, where such addresses only waste dials.
   */
  readonly allowPrivateAddresses: boolean
}

export interface HostServices {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  [key: string]: unknown
}

/** conun's DHT is its own, so it never mixes with the public IPFS DHT. */
export const DHT_PROTOCOL = '/conun/kad/1.0.0'

/**
 * The libp2p configuration of a conun node: TCP and WebSockets (for browsers), noise, yamux,
 * identify and ping, Kademlia and bootstrap for discovery, gossipsub for offers. The host itself is
 * created by the storage domain, because Helia (IPFS) runs on the same libp2p instance.
 */
export function hostOptions (config: HostConfig): Libp2pOptions<HostServices> {
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  // Bootstrap peers are kept alive: if one restarts, this node dials it again (with backoff).
  if (config.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: [...config.bootstrap], timeout: 0, tagName: KEEP_ALIVE }))
  return {
    privateKey: config.privateKey,
    addresses: { listen: [...config.listen] },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: {
      maxConnections: 300,
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
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        ...(config.allowPrivateAddresses ? {} : { peerInfoMapper: removePrivateAddressesMapper }),
      }),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    },
  }
}
