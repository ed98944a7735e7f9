import { FramedStream, MAX_OFFER_FRAME_BYTES, WireError } from '../net/index.ts'
import type { SignedOffer } from '../net/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { z } from 'zod'

/**
 * Answers `protocol`: one request of `requestType`, then the offers `offersFor` gives the asking peer,
 * one frame each, then the stream closes. What goes wrong is reported and, if it is the peer's
 * fault, told to it. Offers are served over relayed (limited) connections too.
 */
export async function serveOffers (
  host: Libp2p,
  protocol: string,
  schema: z.ZodType<{ type: string }>,
  requestType: string,
  offersFor: (from: string) => Iterable<SignedOffer>,
  onError: (from: string, error: unknown) => void,
): Promise<void> {
  await host.handle(protocol, async (stream, connection) => {
    const from = connection.remotePeer.toString()
    const framed = new FramedStream(stream, schema, MAX_OFFER_FRAME_BYTES)
    try {
      const request = await framed.read({ signal: AbortSignal.timeout(5000) })
      if (request.type !== requestType) throw new WireError('unexpected', `expected ${requestType}, got ${request.type}`)
      for (const offer of offersFor(from)) await framed.write(offer)
      await framed.close()
    } catch (error) {
      onError(from, error)
      if (error instanceof WireError) await framed.fail(error)
      else stream.abort(error as Error)
    }
  }, { runOnLimitedConnection: true })
}
