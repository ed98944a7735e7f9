import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'

/** How often a node checks that it is connected to its bootstrap peers. */
const CHECK_INTERVAL_MS = 5_000

/**
 * Dials every bootstrap peer the node is not connected to, now and then. libp2p's bootstrap
 * discovery dials once at start, and redials only peers it was connected to: a first dial that
 * failed (the bootstrap node busy, or not up yet) would leave the node alone for good.
 * Returns the function that stops it.
 */
export function keepBootstrapped (host: Libp2p, bootstrap: readonly string[]): () => void {
  const targets = bootstrap.flatMap(addr => {
    try {
      const parsed = multiaddr(addr)
      const peerId = parsed.getComponents().find(component => component.name === 'p2p')?.value
      return peerId === undefined ? [] : [{ addr: parsed, peerId }]
    } catch {
      return []
    }
  })
  if (targets.length === 0) return () => {}
  const timer = setInterval(() => {
    const connected = new Set(host.getConnections().map(connection => connection.remotePeer.toString()))
    for (const { addr, peerId } of targets) {
      if (!connected.has(peerId)) host.dial(addr, { signal: AbortSignal.timeout(CHECK_INTERVAL_MS) }).catch(() => { /* next round */ })
    }
  }, CHECK_INTERVAL_MS)
  timer.unref()
  return () => clearInterval(timer)
}
