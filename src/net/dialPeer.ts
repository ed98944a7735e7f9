import { isPrivate } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ConunError } from '../util/index.ts'

/** How long each way of reaching a peer is given before the next is tried. */
const DIRECT_DIAL_MS = 5_000
const HOLE_PUNCH_MS = 10_000
const RELAYED_DIAL_MS = 10_000

export interface DialPeerOptions {
  /** Addresses the peer published (e.g. in its signed offer), besides what the peer store knows. */
  readonly addrs?: readonly string[]
  /** Dial private (LAN, loopback) addresses: on a LAN grid. On the internet they only waste dials. */
  readonly allowPrivate: boolean
  readonly signal?: AbortSignal
}

/** How a connection reaches its peer: straight, hole-punched (WebRTC), or through a relay. */
export type ConnectionPath = 'direct' | 'hole-punched' | 'relayed'

export function pathOf (connection: Connection): ConnectionPath {
  const parts = connection.remoteAddr.getComponents()
  if (parts.some(part => part.name === 'webrtc')) return 'hole-punched'
  return parts.some(part => part.name === 'p2p-circuit') ? 'relayed' : 'direct'
}

/** The best open connection to `peer`: any but a relayed one, else a relayed one. */
export function bestConnection (host: Libp2p, peer: PeerId): Connection | undefined {
  const open = host.getConnections(peer).filter(connection => connection.status === 'open' && !isStillborn(connection))
  return open.find(connection => pathOf(connection) !== 'relayed') ?? open[0]
}

interface PeerConnectionHolder { maConn?: { peerConnection?: { connectionState?: string, selectedCandidatePair?: () => { remote?: { address?: string } } | null } } }

/**
 * A hole-punched connection whose ICE never connected. @libp2p/webrtc's receiving side upgrades a
 * connection as soon as the signalling stream ends, even when the dialer gave up because the NATs
 * let nothing through (a symmetric NAT): such a connection looks open, and every stream on it
 * hangs. It is closed here, and never chosen.
 */
function isStillborn (connection: Connection): boolean {
  if (pathOf(connection) !== 'hole-punched') return false
  const state = (connection as PeerConnectionHolder).maConn?.peerConnection?.connectionState
  if (state === undefined || state === 'connected') return false
  connection.abort(new Error(`the hole punch never connected (ICE state ${state})`))
  return true
}

/**
 * Connects to a peer the quickest way the network allows: its direct addresses first; else through
 * one of its relays; else a connection hole-punched through a relay (WebRTC, signalled over it).
 * With no address known, the DHT is asked. Returns the connection; a relayed one is limited by the
 * relay's caps, so callers open streams with `runOnLimitedConnection`, and may try to replace it
 * with upgradeConnection.
 */
export async function dialPeer (host: Libp2p, peer: PeerId, options: DialPeerOptions): Promise<Connection> {
  const existing = bestConnection(host, peer)
  if (existing !== undefined && pathOf(existing) !== 'relayed') return existing
  let addrs = await knownAddrs(host, peer, options)
  if (addrs.length === 0) addrs = await findAddrs(host, peer, options)
  const direct = addrs.filter(addr => !isCircuit(addr))
  const punched = addrs.filter(addr => isCircuit(addr) && isWebRtc(addr))
  const relayed = addrs.filter(addr => isCircuit(addr) && !isWebRtc(addr))
  const failures: string[] = []
  const attempt = async (targets: Multiaddr[], ms: number, force: boolean) => {
    if (targets.length === 0) return undefined
    try {
      return await host.dial(targets, { signal: anySignal(options.signal, ms), force })
    } catch (error) {
      options.signal?.throwIfAborted()
      failures.push(`${targets[0]!.toString()}${targets.length > 1 ? ` (+${targets.length - 1})` : ''}: ${(error as Error).message}`)
      return undefined
    }
  }
  // Through a relay before hole punching: a punch can take seconds to fail (a symmetric NAT), and
  // upgradeConnection tries it once a session runs.
  const connection = await attempt(direct, DIRECT_DIAL_MS, existing !== undefined) ??
    existing ??
    await attempt(relayed, RELAYED_DIAL_MS, false) ??
    await attempt(punched, HOLE_PUNCH_MS, false)
  if (connection !== undefined) {
    if (pathOf(connection) !== 'relayed') closeRelayed(host, peer)
    return connection
  }
  throw new PeerUnreachableError(peer.toString(), addrs.length === 0 ? ['no address known, and the DHT found none'] : failures)
}

/**
 * Tries once to open a direct or hole-punched connection beside a relayed one to `peer` (a NAT
 * mapping or the peer's reachability may have changed since the first dial). Returns it, or
 * undefined when the relayed path is still the only one; the caller moves its streams over and
 * then closes the relayed connection (closeRelayed).
 */
export async function upgradeConnection (host: Libp2p, peer: PeerId, options: DialPeerOptions): Promise<Connection | undefined> {
  const current = bestConnection(host, peer)
  if (current !== undefined && pathOf(current) !== 'relayed') return current
  const addrs = await knownAddrs(host, peer, options)
  for (const targets of [addrs.filter(addr => !isCircuit(addr)), addrs.filter(addr => isCircuit(addr) && isWebRtc(addr))]) {
    if (targets.length === 0) continue
    try {
      return await host.dial(targets, { signal: anySignal(options.signal, HOLE_PUNCH_MS), force: true })
    } catch {
      options.signal?.throwIfAborted()
    }
  }
  return undefined
}

/**
 * Once a peer is reached directly, its relayed connections only hold a slot of the relay's
 * (hole punching signals over one and leaves it open): close them, as DCUtR does after an upgrade.
 */
export function closeRelayed (host: Libp2p, peer: PeerId): void {
  for (const connection of host.getConnections(peer)) {
    if (pathOf(connection) === 'relayed') connection.close().catch(() => connection.abort(new Error('replaced by a direct connection')))
  }
}

export class PeerUnreachableError extends ConunError {
  override readonly name = 'PeerUnreachableError'
  readonly code = 'peer-unreachable'
  readonly kind = 'unavailable'
  readonly peerId: string
  readonly attempts: readonly string[]
  constructor (peerId: string, attempts: readonly string[]) {
    super(`cannot reach ${peerId}: ${attempts.join('; ')}`)
    this.peerId = peerId
    this.attempts = attempts
  }
}

async function knownAddrs (host: Libp2p, peer: PeerId, options: DialPeerOptions): Promise<Multiaddr[]> {
  const stored = await host.peerStore.get(peer).then(record => record.addresses.map(address => address.multiaddr), () => [])
  const published = (options.addrs ?? []).flatMap(addr => {
    try {
      return [multiaddr(addr)]
    } catch {
      return []
    }
  })
  return usable([...published, ...stored], peer, options.allowPrivate)
}

async function findAddrs (host: Libp2p, peer: PeerId, options: DialPeerOptions): Promise<Multiaddr[]> {
  try {
    const found = await host.peerRouting.findPeer(peer, { signal: anySignal(options.signal, DIRECT_DIAL_MS) })
    return usable(found.multiaddrs, peer, options.allowPrivate)
  } catch {
    options.signal?.throwIfAborted()
    return []
  }
}

/** Distinct addresses, each ending in the peer's id, without private ones on the internet. */
function usable (addrs: Multiaddr[], peer: PeerId, allowPrivate: boolean): Multiaddr[] {
  const seen = new Set<string>()
  const result: Multiaddr[] = []
  for (const addr of addrs) {
    if (!allowPrivate && !isCircuit(addr) && isPrivate(addr)) continue
    const full = addr.toString().endsWith(`/p2p/${peer.toString()}`) ? addr : addr.encapsulate(`/p2p/${peer.toString()}`)
    const key = full.toString()
    if (seen.has(key)) continue
    seen.add(key)
    result.push(full)
  }
  return result
}

const isCircuit = (addr: Multiaddr) => addr.getComponents().some(part => part.name === 'p2p-circuit')
const isWebRtc = (addr: Multiaddr) => addr.getComponents().some(part => part.name === 'webrtc')

function anySignal (signal: AbortSignal | undefined, ms: number): AbortSignal {
  return signal === undefined ? AbortSignal.timeout(ms) : AbortSignal.any([signal, AbortSignal.timeout(ms)])
}

/**
 * The IP address a connection's packets come from: the far end of a direct connection, the peer's
 * public (NAT) address on a hole-punched one, and undefined through a relay (only the relay knows).
 * One machine, or one household behind one NAT, has one such address however many keys it holds.
 */
export function remoteIpOf (connection: Connection): string | undefined {
  const path = pathOf(connection)
  if (path === 'relayed') return undefined
  if (path === 'hole-punched') {
    // libp2p hides the RTCPeerConnection inside the connection; node-datachannel's reports the ICE
    // pair in use (browsers' would not, and then the address stays unknown).
    const peerConnection = (connection as PeerConnectionHolder).maConn?.peerConnection
    return peerConnection?.selectedCandidatePair?.()?.remote?.address ?? undefined
  }
  return connection.remoteAddr.getComponents().find(part => part.name === 'ip4' || part.name === 'ip6')?.value
}
