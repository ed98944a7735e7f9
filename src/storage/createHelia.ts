/**
 * An IPFS node (Helia) with bitswap on a libp2p host, assembled from Helia's own parts without the
 * `helia` and `@helia/libp2p` entry points. Both entry points import Helia's default libp2p
 * configuration (auto-TLS with its ACME client, UPnP, mDNS, HTTP gateways, delegated routing),
 * even for `createHeliaLight` and `withLibp2pLight`; conun never starts any of it, yet every node
 * held it: 10.6 MB of JS heap, about 24 MB RSS. This is what
 * `withBitswap(withLibp2pLight(createHeliaLight(init), options))` builds, from the same files.
 */
import { withBitswap } from '@helia/bitswap'
import { createLibp2p } from 'libp2p'
import { userAgent } from 'libp2p/user-agent'
import type { Helia, Router } from '@helia/interface'
import type { Libp2p, ServiceMap } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'
import type { Libp2pOptions } from 'libp2p'

type Datastore = Helia['datastore']

/** Helia's node class and its name and version, as `createHeliaLight` constructs it. */
interface HeliaModules {
  readonly Helia: new (init: { name: string, version: string, blockstore: Blockstore, datastore: Datastore }) => Helia
  readonly name: string
  readonly version: string
  readonly libp2pRouting: (libp2p: Libp2p) => Router
}

/**
 * The files behind the entry points, found beside them (resolving an entry point does not load it):
 * `helia`'s class and version, and `@helia/libp2p`'s router, which answers Helia's content and peer
 * routing from libp2p (the DHT).
 */
async function loadHeliaModules (): Promise<HeliaModules> {
  const heliaEntry = import.meta.resolve('helia')
  const libp2pEntry = import.meta.resolve('@helia/libp2p')
  const [{ Helia }, { name, version }, { libp2pRouting }] = await Promise.all([
    import(new URL('helia.js', heliaEntry).href) as Promise<Pick<HeliaModules, 'Helia'>>,
    import(new URL('version.js', heliaEntry).href) as Promise<Pick<HeliaModules, 'name' | 'version'>>,
    import(new URL('routing.js', libp2pEntry).href) as Promise<Pick<HeliaModules, 'libp2pRouting'>>,
  ])
  return { Helia, name, version, libp2pRouting }
}

export interface HeliaNode<S extends ServiceMap> extends Helia {
  readonly libp2p: Libp2p<S>
}

/** A Helia node on a new libp2p host (not started): `start()` starts the host, then bitswap on it. */
export async function createHelia<S extends ServiceMap> (blockstore: Blockstore, datastore: Datastore, libp2pOptions: Libp2pOptions<S>): Promise<HeliaNode<S>> {
  const { Helia, name, version, libp2pRouting } = await loadHeliaModules()
  const helia = new Helia({ name, version, blockstore, datastore })
  // The peer store lives in the node's datastore, as with withLibp2pLight.
  const libp2p = await createLibp2p({
    ...libp2pOptions,
    datastore,
    start: false,
    nodeInfo: { name, version, userAgent: `${name}/${version} ${userAgent()}`, ...libp2pOptions.nodeInfo },
  })
  helia.addRouter(libp2pRouting(libp2p as Libp2p))
  Object.defineProperty(helia, 'libp2p', { enumerable: true, value: libp2p })
  // Before bitswap's mixin, which registers its protocol on the started host.
  helia.addMixin({ name: 'libp2p', start: async () => libp2p.start(), stop: async () => libp2p.stop() })
  return withBitswap(helia as HeliaNode<S>)
}
