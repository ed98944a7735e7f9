import { peerRoutingSymbol } from '@libp2p/interface'
import type { PeerRouting } from '@libp2p/interface'

/**
 * Spaces out the DHT walks libp2p makes to discover peers. Its random walk (used to find relays
 * and AutoNAT peers) starts the next DHT query as soon as one ends, for as long as it wants more
 * peers: a node behind a NAT that wants a relay when there are none to be had, or fewer than it
 * wants, queried its bootstrap node 40 times a second (measured in the NAT tests). Lookups of a
 * given peer (findPeer) are not paced.
 */
export function pacedWalks<C, T extends object> (createService: (components: C) => T, minIntervalMs: number): (components: C) => T {
  return components => {
    const service = createService(components)
    const inner = (service as { [peerRoutingSymbol]?: PeerRouting })[peerRoutingSymbol]
    if (inner === undefined) return service
    let nextAt = 0
    const paced: PeerRouting = {
      findPeer: async (peer, options) => inner.findPeer(peer, options),
      async * getClosestPeers (key, options) {
        const wait = nextAt - Date.now()
        nextAt = Math.max(nextAt, Date.now()) + minIntervalMs
        if (wait > 0) {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, wait)
            options?.signal?.addEventListener('abort', () => {
              clearTimeout(timer)
              reject(options.signal!.reason as Error)
            }, { once: true })
          })
        }
        yield * inner.getClosestPeers(key, options)
      },
    }
    return new Proxy(service, {
      get (target, property) {
        if (property === peerRoutingSymbol) return paced
        const value = Reflect.get(target, property, target) as unknown
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      },
    })
  }
}
