/** Connections a node holds at most when its scheduler may use few providers: peers, relays, browsers. */
const BASE_CONNECTIONS = 300
/** Besides its providers, a requester keeps bootstrap nodes, relays, DHT peers and browsers connected. */
const HEADROOM = 100

/**
 * The libp2p connection cap for a node whose scheduler may use `maxProviders` providers at once:
 * below it libp2p would prune providers the requester is using (its sessions then break and
 * reconnect over and over), as 500 providers on one requester did under the old fixed 300.
 */
export function maxConnectionsFor (maxProviders: number): number {
  return Math.max(BASE_CONNECTIONS, maxProviders + HEADROOM)
}
