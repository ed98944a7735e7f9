import { bestConnection } from './dialPeer.ts'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'

/**
 * Opens a stream to a peer on its best open connection, a relayed one included, and dials only
 * when there is none. libp2p's own dialProtocol never reuses a relayed ("limited") connection: for
 * a peer reachable only through a relay, every call would dial again (and try to hole-punch again).
 */
export async function openStream (host: Libp2p, peer: PeerId, protocol: string, options: { signal?: AbortSignal } = {}): Promise<Stream> {
  const connection = bestConnection(host, peer)
  if (connection === undefined) return host.dialProtocol(peer, protocol, { ...options, runOnLimitedConnection: true })
  return connection.newStream(protocol, { ...options, runOnLimitedConnection: true })
}
