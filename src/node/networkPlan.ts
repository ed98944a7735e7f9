import { networkInterfaces } from 'node:os'
import { isPrivateIp } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { NodeConfig } from './config.ts'
import type { RelayServiceLimits } from '../net/index.ts'

/** How a node takes part in the network, decided once at start from its configuration and interfaces. */
export interface NetworkPlan {
  /** `internet`: it joins through, or is itself, a publicly reachable node; `lan`: a grid on one machine or LAN. */
  readonly mode: 'internet' | 'lan'
  /** Its own addresses with a public IP (listen addresses on public interfaces, and announced ones). */
  readonly publicAddrs: readonly string[]
  /** Relay for NAT'd peers, with these caps (undefined: it does not relay). */
  readonly relayService: RelayServiceLimits | undefined
  /** Relay slots to hold, so that peers can reach it through a relay (0: none). */
  readonly relayReservations: number
  /**
   * Hole-punch with WebRTC: on the internet, where it may meet NAT'd peers, or whenever it holds
   * relay slots. On a LAN every peer is dialled directly, so WebRTC is not even loaded.
   */
  readonly holePunching: boolean
  /** Where it answers STUN requests (public IPs, UDP port = the TCP listen port). */
  readonly stunListen: ReadonlyArray<{ host: string, port: number }>
  /** STUN servers it asks, besides those of the relays it is connected to ("host:port"). */
  readonly stunServers: readonly string[]
}

/** The IP address and TCP port of a multiaddr, if it has both (DNS names and circuits have not). */
export function ipAndPort (addr: string): { ip: string, family: 4 | 6, port: number } | undefined {
  try {
    const parts = multiaddr(addr).getComponents()
    const ip = parts[0]
    const tcp = parts[1]
    if (ip === undefined || (ip.name !== 'ip4' && ip.name !== 'ip6') || tcp?.name !== 'tcp' || ip.value === undefined) return undefined
    if (parts.some(part => part.name === 'p2p-circuit')) return undefined
    return { ip: ip.value, family: ip.name === 'ip4' ? 4 : 6, port: Number(tcp.value) }
  } catch {
    return undefined
  }
}

const isPublicIp = (ip: string) => isPrivateIp(ip) !== true

/** A wildcard listen address stands for every address of its family on this machine's interfaces. */
function expandWildcard (addr: string, interfaces: ReturnType<typeof networkInterfaces>): string[] {
  const parsed = ipAndPort(addr)
  if (parsed === undefined || (parsed.ip !== '0.0.0.0' && parsed.ip !== '::')) return [addr]
  const family = parsed.family === 4 ? 'IPv4' : 'IPv6'
  return Object.values(interfaces).flatMap(list => list ?? [])
    .filter(info => info.family === family && !info.internal)
    .map(info => addr.replace(`/${parsed.ip}/`, `/${info.address}/`))
}

export function planNetwork (config: NodeConfig, interfaces = networkInterfaces()): NetworkPlan {
  const { network } = config
  const listening = config.listen.flatMap(addr => expandWildcard(addr, interfaces))
  const publicAddrs = [...listening, ...network.announce].filter(addr => {
    const parsed = ipAndPort(addr)
    return parsed !== undefined && isPublicIp(parsed.ip)
  })
  const publicBootstrap = config.bootstrap.some(addr => {
    const parsed = ipAndPort(addr)
    return parsed === undefined ? /^\/dns[46]?\//.test(addr) : isPublicIp(parsed.ip)
  })
  const internet = config.allowPrivateAddresses === 'auto' ? publicAddrs.length > 0 || publicBootstrap : !config.allowPrivateAddresses
  // A node with no public address of its own, joining through a public one, is behind a NAT (or a
  // firewall): only a relay makes it reachable.
  const reserve = network.reserveRelays === 'auto' ? publicAddrs.length === 0 && publicBootstrap : network.reserveRelays === 'on'
  // A relay that is itself behind a NAT helps nobody outside it; on a LAN every node may relay (tabs).
  const relay = network.relay === 'auto' ? !reserve : network.relay === 'on'
  const stunListen = relay && internet
    ? listening.flatMap(addr => {
      const parsed = ipAndPort(addr)
      return parsed !== undefined && isPublicIp(parsed.ip) && parsed.port > 0 ? [{ host: parsed.ip, port: parsed.port }] : []
    })
    : []
  const bootstrapStun = config.bootstrap.flatMap(addr => {
    const parsed = ipAndPort(addr)
    return parsed !== undefined && isPublicIp(parsed.ip) ? [stunServerOf(parsed)] : []
  })
  return {
    mode: internet ? 'internet' : 'lan',
    publicAddrs,
    relayService: relay ? network.relayLimits : undefined,
    relayReservations: reserve ? network.relaySlots : 0,
    holePunching: internet || reserve,
    stunListen,
    stunServers: [...new Set([...network.stunServers, ...bootstrapStun])],
  }
}

/** A public conun node answers STUN on the UDP port of the same number as its TCP listener. */
export function stunServerOf (endpoint: { ip: string, family: 4 | 6, port: number }): string {
  return endpoint.family === 4 ? `${endpoint.ip}:${endpoint.port}` : `[${endpoint.ip}]:${endpoint.port}`
}
