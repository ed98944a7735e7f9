import { peerIdFromString } from '@libp2p/peer-id'
import { assertSignedBy, dialPeer, FramedStream, pathOf, pingOver, MAX_TASK_FRAME_BYTES, PROTOCOL_TASK, signBody, SIGNING_DOMAIN, toRequester, WireError } from '../net/index.ts'
import type { NodeKey } from '../identity/index.ts'
import type { AgreementProposalBody, ConnectionPath, SignedOffer, TaskAssignment, TaskReceipt, TaskResult, TaskResultsBody, ToRequester } from '../net/index.ts'
import type { Libp2p } from '@libp2p/interface'

/** A provider's signed result batch, as it arrived: kept as proof when one of its results is judged wrong. */
export interface SignedBatch {
  readonly body: TaskResultsBody
  readonly signature: string
}

/** What a link reports back to the scheduler. */
export interface LinkHandlers {
  onStarted(taskIds: readonly string[]): void
  /** Results whose batch signature and envelope were verified, with the signed batch itself. */
  onResults(results: readonly TaskResult[], batch: SignedBatch): void
  onClosed(reason: string): void
}

/**
 * An agreed session with one provider for one job. The scheduler only sees this interface, so it
 * does not care whether tasks travel over libp2p or anything else.
 */
export interface ProviderLink {
  readonly peerId: string
  readonly address: string
  readonly agreementId: string
  /** Tasks the provider agreed to hold at once. */
  readonly maxInFlight: number
  /** How the session reaches the provider now. */
  path(): ConnectionPath
  assign(tasks: readonly TaskAssignment[]): void
  cancel(taskIds: readonly string[]): void
  /** Sends the provider its latest cumulative receipt (paid jobs). */
  sendReceipt(receipt: TaskReceipt): void
  close(): Promise<void>
}

export type OpenLink = (offer: SignedOffer, proposal: AgreementProposalBody, handlers: LinkHandlers, signal: AbortSignal) => Promise<ProviderLink>

export class AgreementRejectedError extends Error {
  override readonly name = 'AgreementRejectedError'
}

/**
 * A provider is pinged this often while its session is open; after HEARTBEAT_MISSES pings in a row
 * go unanswered it counts as gone, and its tasks go elsewhere long before their deadlines (a
 * stopped or partitioned machine can keep its TCP connection open for minutes).
 */
const HEARTBEAT_INTERVAL_MS = 2000
const HEARTBEAT_MISSES = 3

/**
 * Opens provider links over libp2p: dial (directly, hole-punched or relayed, see net/dialPeer.ts),
 * /conun/task/1.0.0, signed agreement, then task traffic. `allowPrivate`: a LAN grid, where
 * providers' private addresses are worth dialing.
 */
export function libp2pLinks (host: Libp2p, key: NodeKey, chainId: number, network: { allowPrivate: boolean }): OpenLink {
  return async (offer, proposal, handlers, signal) => {
    const provider = peerIdFromString(offer.body.peerId)
    const connection = await dialPeer(host, provider, { addrs: offer.body.addrs, allowPrivate: network.allowPrivate, signal })
    // A relayed connection is "limited" (the relay caps it); conun's sessions run over it all the same.
    const stream = await connection.newStream(PROTOCOL_TASK, { signal, runOnLimitedConnection: true })
    const framed = new FramedStream(stream, toRequester, MAX_TASK_FRAME_BYTES)
    await framed.write({ type: 'agreement.propose', v: 2, body: proposal, signature: signBody(key.secret, SIGNING_DOMAIN.agreementProposal, proposal) })
    const answer = await framed.read({ signal })
    if (answer.type === 'agreement.reject') {
      await framed.close()
      throw new AgreementRejectedError(`provider ${offer.body.peerId} declined: ${answer.reason}`)
    }
    if (answer.type !== 'agreement.accept') {
      await framed.close()
      throw new WireError('unexpected', `expected agreement.accept, got ${answer.type}`)
    }
    assertSignedBy(provider, SIGNING_DOMAIN.agreementAcceptance, answer.body, answer.signature)
    if (answer.body.agreementId !== proposal.agreementId || answer.body.jobId !== proposal.jobId || answer.body.chainId !== chainId) {
      await framed.close()
      throw new WireError('unexpected', 'the acceptance is for another agreement')
    }

    let closed = false
    let misses = 0
    let pinging = false
    const heartbeat = setInterval(() => {
      if (pinging) return
      pinging = true
      // Over the session's own connection: libp2p's ping would dial afresh past a relayed one.
      pingOver(connection, { signal: AbortSignal.timeout(HEARTBEAT_INTERVAL_MS) })
        .then(() => { misses = 0 }, () => {
          if (++misses < HEARTBEAT_MISSES) return
          stream.abort(new Error('no heartbeat'))
          close(`no heartbeat: the provider answered none of ${HEARTBEAT_MISSES} pings`)
        })
        .finally(() => { pinging = false })
    }, HEARTBEAT_INTERVAL_MS)
    heartbeat.unref()
    const close = (reason: string) => {
      clearInterval(heartbeat)
      if (closed) return
      closed = true
      handlers.onClosed(reason)
    }
    const handle = (message: ToRequester) => {
      if (message.type === 'task.started') handlers.onStarted(message.taskIds)
      else if (message.type === 'task.results') {
        assertSignedBy(provider, SIGNING_DOMAIN.results, message.body, message.signature)
        const { body } = message
        if (body.agreementId !== proposal.agreementId || body.jobId !== proposal.jobId || body.chainId !== chainId || body.provider.toLowerCase() !== offer.body.provider.toLowerCase()) {
          throw new WireError('unexpected', 'results are for another agreement')
        }
        handlers.onResults(body.results, { body, signature: message.signature })
      } else if (message.type === 'error') {
        throw new WireError('unexpected', `provider reported ${message.code}: ${message.message}`)
      } else {
        throw new WireError('unexpected', `unexpected ${message.type} during a session`)
      }
    }
    void (async () => {
      try {
        while (true) handle(await framed.read())
      } catch (error) {
        if (error instanceof WireError && error.code !== 'closed') await framed.fail(error)
        close(error instanceof WireError && error.code === 'closed' ? 'provider closed the session' : (error as Error).message)
      }
    })()

    const send = (message: unknown) => {
      if (closed) return
      framed.write(message).catch(error => {
        stream.abort(error as Error)
        close(`sending failed: ${(error as Error).message}`)
      })
    }
    return {
      peerId: offer.body.peerId,
      address: offer.body.provider,
      agreementId: proposal.agreementId,
      maxInFlight: answer.body.maxInFlight,
      path: () => pathOf(connection),
      assign: tasks => send({ type: 'task.assign', v: 1, tasks }),
      cancel: taskIds => send({ type: 'task.cancel', v: 1, taskIds }),
      sendReceipt: receipt => send(receipt),
      async close () {
        closed = true
        clearInterval(heartbeat)
        await framed.close()
      },
    }
  }
}
