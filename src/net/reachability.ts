import { isPrivate } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'

/**
 * Whether others can reach this node, and how:
 * - `public`: they can dial it at `addresses` (checked by peers with AutoNAT, or announced by hand);
 * - `private`: behind a NAT or on a LAN; peers outside reach it through the `relays` it holds
 *   slots on (and from there a hole-punched direct connection where the NATs allow);
 * - `unknown`: it has public addresses that no peer has confirmed yet, and no relay slot.
 */
export interface Reachability {
  readonly status: 'public' | 'private' | 'unknown'
  /** `internet`: the node joined a grid on the internet; `lan`: a grid on one machine or LAN. */
  readonly mode: 'internet' | 'lan'
  /** Addresses others can dial directly. */
  readonly addresses: string[]
  /** The relays this node holds a reservation on, with the address it is reachable at through each. */
  readonly relays: Array<{ readonly peerId: string, readonly address: string }>
}

/**
 * Reachability from the addresses the node advertises now: libp2p lists a public address only once
 * a peer has confirmed it. `expectsPublic`: the node listens on (or announces) a public address.
 */
export function reachabilityOf (advertised: readonly string[], mode: 'internet' | 'lan', expectsPublic: boolean): Reachability {
  const addresses: string[] = []
  const relays: Array<{ peerId: string, address: string }> = []
  for (const addr of advertised) {
    let parsed
    try {
      parsed = multiaddr(addr)
    } catch {
      continue
    }
    const parts = parsed.getComponents()
    const circuit = parts.findIndex(part => part.name === 'p2p-circuit')
    if (circuit >= 0) {
      const relay = parts.slice(0, circuit).reverse().find(part => part.name === 'p2p')?.value
      // The /webrtc variant of a circuit address is the same slot.
      if (relay !== undefined && parts[circuit + 1]?.name !== 'webrtc') relays.push({ peerId: relay, address: addr })
      continue
    }
    if (mode === 'lan' || !isPrivate(parsed)) addresses.push(addr)
  }
  const status = mode === 'internet' && addresses.length > 0 ? 'public' : expectsPublic && relays.length === 0 && mode === 'internet' ? 'unknown' : 'private'
  return { status, mode, addresses, relays }
}

/** Who can reach the node, in words: a headline, then the addresses to dial and the relays it holds slots on. */
export function describeReachability (reachability: Reachability): { headline: string, dial: string[], relays: string[] } {
  const { status, mode, addresses, relays } = reachability
  const headline = mode === 'lan'
    ? 'on this machine or LAN only (no public bootstrap peer or address)'
    : status === 'public'
      ? 'publicly: peers dial it directly (and it relays for peers behind NATs)'
      : status === 'private'
        ? relays.length > 0 ? `through ${relays.length} relay${relays.length === 1 ? '' : 's'} (behind a NAT; direct connections are hole-punched where the NATs allow)` : 'not yet: behind a NAT, looking for a relay'
        : 'unknown: waiting for peers to confirm its public address'
  return { headline, dial: addresses, relays: relays.map(relay => relay.address) }
}
