import { bestConnection } from './dialPeer.ts'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

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

const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

/** A round trip over this very connection (libp2p's ping protocol), in ms. */
export async function pingOver (connection: Connection, options: { signal?: AbortSignal } = {}): Promise<number> {
  const stream = await connection.newStream(PING_PROTOCOL, { ...options, runOnLimitedConnection: true })
  try {
    const payload = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const start = performance.now()
    const echoed = new Promise<Uint8Array>((resolve, reject) => {
      const chunks: Uint8Array[] = []
      let length = 0
      stream.addEventListener('message', event => {
        const chunk = event.data.subarray()
        chunks.push(chunk)
        length += chunk.byteLength
        if (length >= PING_BYTES) resolve(Buffer.concat(chunks).subarray(0, PING_BYTES))
      })
      stream.addEventListener('close', () => reject(new Error('the ping stream closed before the echo')))
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason as Error), { once: true })
    })
    stream.send(payload)
    const echo = await echoed
    const rtt = performance.now() - start
    if (!Buffer.from(echo).equals(Buffer.from(payload))) throw new Error('the peer echoed other bytes')
    return rtt
  } finally {
    await stream.close().catch(() => stream.abort(new Error('ping done')))
  }
}
