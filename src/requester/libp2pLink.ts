import { peerIdFromString } from '@libp2p/peer-id'
import { assertSignedBy, closeRelayed, dialPeer, FramedStream, MAX_TASK_FRAME_BYTES, pathOf, PROTOCOL_TASK, signBody, SIGNING_DOMAIN, toRequester, upgradeConnection, WireError } from '../net/index.ts'
import { messageOf } from '../util/index.ts'
import { payoutOf } from '../market/index.ts'
import { AgreementRejectedError } from './providerLink.ts'
import type { LinkHandlers, OpenLink, ProviderLink } from './providerLink.ts'
import type { NodeKey } from '../identity/index.ts'
import type { AgreementProposalBody, ConnectionPath, DialPeerOptions, SignedOffer, TaskAssignment, TaskReceipt, ToRequester } from '../net/index.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

/**
 * A heartbeat goes out this often while a session is open. A provider that sends nothing for
 * HEARTBEAT_MISSES intervals counts as unreachable (a stopped or partitioned machine can keep its
 * connection open for minutes), and the session tries to resume on a new connection.
 */
const HEARTBEAT_INTERVAL_MS = 2000
const HEARTBEAT_MISSES = 3
/** How long a broken session is given to resume (the provider keeps its tasks for RESUME_GRACE_MS, longer). */
const RESUME_WINDOW_MS = 25_000
/** A session on a relayed connection tries to move to a direct one after this long, then ever less often. */
const UPGRADE_FIRST_MS = 100
const UPGRADE_MAX_MS = 5 * 60_000

type SessionStream = FramedStream<typeof toRequester>
/** A message to the provider; assignments are told apart, because a resume must not report them lost. */
type Outgoing = { readonly type: string, readonly tasks?: readonly TaskAssignment[] } & Record<string, unknown>

export interface Libp2pLinksInit {
  /** Dial private (LAN) addresses: a grid on one machine or LAN. */
  readonly allowPrivate: boolean
  /** A provider's latest published addresses (its offer), which change when it moves to another relay. */
  readonly addrsOf: (peerId: string) => readonly string[]
}

/**
 * Opens provider links over libp2p: dial (see net/dialPeer.ts), /conun/task/1.0.0, the signed
 * agreement, then task traffic.
 */
export function libp2pLinks (host: Libp2p, key: NodeKey, chainId: number, init: Libp2pLinksInit): OpenLink {
  return async (offer, proposal, handlers, signal) => {
    const provider = peerIdFromString(offer.body.peerId)
    const dialOptions = () => ({ addrs: [...init.addrsOf(offer.body.peerId), ...offer.body.addrs], allowPrivate: init.allowPrivate })
    const connection = await dialPeer(host, provider, { ...dialOptions(), signal })
    const framed = await openStream(connection, signal)
    try {
      await framed.write({ type: 'agreement.propose', v: 3, body: proposal, signature: signBody(key.secret, SIGNING_DOMAIN.agreementProposal, proposal) })
      const answer = await framed.read({ signal })
      if (answer.type === 'agreement.reject') throw new AgreementRejectedError(`provider ${offer.body.peerId} declined: ${answer.reason}`)
      if (answer.type !== 'agreement.accept') throw new WireError('unexpected', `expected agreement.accept, got ${answer.type}`)
      assertSignedBy(provider, SIGNING_DOMAIN.agreementAcceptance, answer.body, answer.signature)
      if (answer.body.agreementId !== proposal.agreementId || answer.body.jobId !== proposal.jobId || answer.body.chainId !== chainId) {
        throw new WireError('unexpected', 'the acceptance is for another agreement')
      }
      return new Libp2pLink({ host, provider, offer, proposal, chainId, handlers, dialOptions, maxInFlight: answer.body.maxInFlight, connection, framed })
    } catch (error) {
      // Reset, not left open: a read that timed out does not end the stream, and the provider
      // would hold the session it accepted (and its stream) for as long as the connection lasts.
      framed.stream.abort(error instanceof Error ? error : new Error(messageOf(error)))
      throw error
    }
  }
}

async function openStream (connection: Connection, signal?: AbortSignal): Promise<SessionStream> {
  // A relayed connection is "limited" (the relay caps it); conun's sessions run over it all the same.
  const stream = await connection.newStream(PROTOCOL_TASK, { signal, runOnLimitedConnection: true })
  return new FramedStream(stream, toRequester, MAX_TASK_FRAME_BYTES)
}

interface LinkInit {
  readonly host: Libp2p
  readonly provider: PeerId
  readonly offer: SignedOffer
  readonly proposal: AgreementProposalBody
  readonly chainId: number
  readonly handlers: LinkHandlers
  readonly dialOptions: () => Omit<DialPeerOptions, 'signal'>
  readonly maxInFlight: number
  readonly connection: Connection
  readonly framed: SessionStream
}

/**
 * One agreed session over libp2p. Its stream may break (a relay goes away, a NAT mapping expires)
 * or be replaced by one on a better connection (a hole punch succeeds): the session resumes on a new
 * stream, the provider sends again what the broken one lost, and the scheduler sees a move, not a loss.
 */
class Libp2pLink implements ProviderLink {
  readonly peerId: string
  readonly address: string
  readonly agreementId: string
  readonly maxInFlight: number
  private readonly init: LinkInit
  private connection: Connection
  private framed: SessionStream
  private state: 'open' | 'moving' | 'closed' = 'open'
  /** Messages written while the session moves to a new stream, sent once it has. */
  private queued: Outgoing[] = []
  private lastHeardAt = performance.now()
  private readonly pings = new Map<number, number>()
  private nonce = 0
  private minRttMs: number | undefined
  private readonly heartbeat: ReturnType<typeof setInterval>
  private upgradeTimer: ReturnType<typeof setTimeout> | undefined
  private upgradeDelayMs = UPGRADE_FIRST_MS
  /** Aborts a hole punch in flight: libp2p would make a resume's dial wait for it (one dial per peer at a time). */
  private upgrading: AbortController | undefined

  constructor (init: LinkInit) {
    this.init = init
    this.peerId = init.offer.body.peerId
    // Accepted results are counted, reserved and paid at the address the provider named in its offer.
    this.address = payoutOf(init.offer.body)
    this.agreementId = init.proposal.agreementId
    this.maxInFlight = init.maxInFlight
    this.connection = init.connection
    this.framed = init.framed
    this.read(init.framed)
    // The first ping goes out at once: its round trip sizes the window from the first results on.
    // (The handshake's would not do: a paid job's admission, an escrow read on chain, is in it.)
    this.beat()
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS)
    this.heartbeat.unref?.()
    this.scheduleUpgrade()
  }

  path (): ConnectionPath {
    return pathOf(this.connection)
  }

  rttMs (): number | undefined {
    return this.minRttMs
  }

  assign (tasks: readonly TaskAssignment[]): void {
    this.send({ type: 'task.assign', v: 1, tasks })
  }

  cancel (taskIds: readonly string[]): void {
    this.send({ type: 'task.cancel', v: 1, taskIds })
  }

  sendReceipt (receipt: TaskReceipt): void {
    this.send({ ...receipt })
  }

  async close (): Promise<void> {
    if (this.state === 'closed') return
    this.stop()
    // The provider drops the session's tasks now, instead of keeping them for a resume.
    await this.framed.write({ type: 'session.end', v: 1 }).catch(() => {})
    await this.framed.close()
  }

  private send (message: Outgoing): void {
    if (this.state === 'closed') return
    if (this.state === 'moving') {
      this.queued.push(message)
      return
    }
    const framed = this.framed
    framed.write(message).catch(error => {
      if (framed !== this.framed) return
      this.queued.push(message)
      void this.move(`sending failed: ${messageOf(error)}`)
    })
  }

  /** Reads one stream until it ends; only the current stream's end means the session broke. */
  private read (framed: SessionStream): void {
    void (async () => {
      try {
        while (true) {
          const message = await framed.read()
          if (message.type === 'error') {
            // The provider ended the session and said why: there is nothing to answer.
            await framed.close()
            if (framed === this.framed) this.end(`provider reported ${message.code}: ${message.message}`)
            return
          }
          this.handle(message)
        }
      } catch (error) {
        if (framed !== this.framed || this.state === 'closed') return
        if (error instanceof WireError && error.code !== 'closed') {
          // The provider refused something, or sent what it must not: the session is over.
          await framed.fail(error)
          this.end(error.message)
          return
        }
        // The stream ended or its connection failed (libp2p's own connection monitor aborts a
        // connection whose pings go unanswered): the session tries to carry on over another.
        void this.move(error instanceof WireError ? 'the stream to the provider ended' : `the connection to the provider failed: ${messageOf(error)}`)
      }
    })()
  }

  private handle (message: ToRequester): void {
    this.lastHeardAt = performance.now()
    const { handlers, provider, proposal, chainId, offer } = this.init
    if (message.type === 'task.started') handlers.onStarted(message.taskIds)
    else if (message.type === 'task.results') {
      assertSignedBy(provider, SIGNING_DOMAIN.results, message.body, message.signature)
      const { body } = message
      if (body.agreementId !== proposal.agreementId || body.jobId !== proposal.jobId || body.chainId !== chainId || body.provider.toLowerCase() !== offer.body.provider.toLowerCase()) {
        throw new WireError('unexpected', 'results are for another agreement')
      }
      handlers.onResults(body.results, { body, signature: message.signature })
    } else if (message.type === 'session.pong') {
      const sentAt = this.pings.get(message.nonce)
      this.pings.delete(message.nonce)
      if (sentAt !== undefined) this.minRttMs = Math.min(this.minRttMs ?? Infinity, performance.now() - sentAt)
    } else {
      throw new WireError('unexpected', `unexpected ${message.type} during a session`)
    }
  }

  /** A ping a beat; any message from the provider counts as a sign of life. */
  private beat (): void {
    if (this.state !== 'open') return
    if (performance.now() - this.lastHeardAt > HEARTBEAT_INTERVAL_MS * HEARTBEAT_MISSES) {
      void this.move(`no heartbeat: the provider answered none of ${HEARTBEAT_MISSES} pings`, { abandon: true })
      return
    }
    const nonce = ++this.nonce
    this.pings.set(nonce, performance.now())
    if (this.pings.size > HEARTBEAT_MISSES * 2) this.pings.delete(this.pings.keys().next().value!)
    this.send({ type: 'session.ping', v: 1, nonce })
  }

  /**
   * Carries the session on over a new stream: on `to` (a better connection), or on whatever
   * connection can be had (the old one broke). `abandon`: the old connection is dead to us.
   */
  private async move (reason: string, options: { to?: Connection, abandon?: boolean } = {}): Promise<boolean> {
    if (this.state !== 'open') return false
    this.state = 'moving'
    if (options.to === undefined) this.upgrading?.abort()
    const { host, provider, handlers } = this.init
    if (options.abandon === true) this.connection.abort(new Error(reason))
    const deadline = performance.now() + RESUME_WINDOW_MS
    let failure = reason
    do {
      try {
        const signal = AbortSignal.timeout(Math.max(1000, Math.round(deadline - performance.now())))
        const connection = options.to ?? await dialPeer(host, provider, { ...this.init.dialOptions(), signal })
        const framed = await openStream(connection, signal)
        const waiting = new Set(this.queued.flatMap(message => message.tasks?.map(task => `${task.taskId}#${task.attempt}`) ?? []))
        const outstanding = handlers.outstanding().filter(task => !waiting.has(`${task.taskId}#${task.attempt}`))
        const askedAt = performance.now()
        await framed.write({ type: 'session.resume', v: 1, agreementId: this.agreementId, outstanding })
        const answer = await framed.read({ signal })
        if (answer.type !== 'session.resumed') {
          await framed.close()
          this.end(`${reason}; the provider would not resume: ${answer.type === 'error' ? answer.message : answer.type}`)
          return false
        }
        this.connection = connection
        this.framed = framed
        // Another path, another round trip: measured afresh from the resume.
        this.minRttMs = performance.now() - askedAt
        this.lastHeardAt = performance.now()
        this.state = 'open'
        this.read(framed)
        if (answer.lost.length > 0) handlers.onLost(answer.lost)
        for (const message of this.queued.splice(0)) this.send(message)
        handlers.onMoved(this.path())
        if (this.path() !== 'relayed') closeRelayed(host, provider)
        this.scheduleUpgrade()
        return true
      } catch (error) {
        failure = `${reason}; could not reach it again within ${RESUME_WINDOW_MS / 1000} s: ${messageOf(error)}`
        if (options.to !== undefined) break
        await new Promise(resolve => setTimeout(resolve, 500))
      }
    } while (performance.now() < deadline && this.state === 'moving')
    if (options.to !== undefined && this.state === 'moving') {
      // A better connection that did not take the session: carry on where it was.
      this.state = 'open'
      for (const message of this.queued.splice(0)) this.send(message)
      return false
    }
    this.end(failure)
    return false
  }

  /** While the session is relayed, try now and then to reach the provider directly (hole punching). */
  private scheduleUpgrade (): void {
    clearTimeout(this.upgradeTimer)
    if (this.state === 'closed' || this.path() !== 'relayed') return
    this.upgradeTimer = setTimeout(() => {
      void (async () => {
        if (this.state !== 'open') return
        this.upgrading = new AbortController()
        const better = await upgradeConnection(this.init.host, this.init.provider, { ...this.init.dialOptions(), signal: this.upgrading.signal }).catch(() => undefined)
        if (better !== undefined && pathOf(better) !== 'relayed' && this.state === 'open' && await this.move('a direct connection to the provider opened', { to: better })) return
        this.upgradeDelayMs = Math.min(this.upgradeDelayMs * 4, UPGRADE_MAX_MS)
        this.scheduleUpgrade()
      })()
    }, this.upgradeDelayMs)
    this.upgradeTimer.unref?.()
  }

  private end (reason: string): void {
    if (this.state === 'closed') return
    this.stop()
    this.init.handlers.onClosed(reason)
  }

  private stop (): void {
    this.state = 'closed'
    this.upgrading?.abort()
    this.queued = []
    clearInterval(this.heartbeat)
    clearTimeout(this.upgradeTimer)
  }
}
