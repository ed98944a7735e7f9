import { windowOf } from './providerWindow.ts'
import type { LinkHandlers, OpenLink, ProviderLink, SignedBatch } from './providerLink.ts'
import type { RequesterEvent } from './requesterEvents.ts'
import type { AgreementProposalBody, SignedOffer, TaskAttempt, TaskResult } from '../net/index.ts'
import { messageOf } from '../util/index.ts'
import type { EventHub } from '../util/index.ts'

/** One linked provider: its session, the attempts it holds, and its pace. */
export interface PooledProvider {
  readonly link: ProviderLink
  /** Tasks out at this provider: index → attempt (a provider holds at most one replica of a task). */
  readonly inFlight: Map<number, number>
  /** Cores the provider offered: how many of the window run at once. */
  readonly cores: number
  /** Moving average of this provider's sandbox time per task, in ms (undefined until a result). */
  taskMs: number | undefined
}

/** What the pool reports to the scheduler, about providers it holds. */
export interface PoolHandlers {
  /** A new session is open: it has room for work. */
  onLinked(provider: PooledProvider): void
  onStarted(provider: PooledProvider, taskIds: readonly string[]): void
  onResults(provider: PooledProvider, results: readonly TaskResult[], batch: SignedBatch): void
  /** Attempts a resumed session's provider no longer had. */
  onLost(provider: PooledProvider, tasks: readonly TaskAttempt[]): void
  /** A session reaches its provider another way (its address may now be known). */
  onMoved(): void
  /** A provider left the pool (its link closed, or it was dropped): the attempts it held are lost. */
  onClosed(provider: PooledProvider, reason: string): void
}

export interface ProviderPoolDeps {
  readonly jobId: string
  readonly openLink: OpenLink
  readonly events: EventHub<RequesterEvent>
  /** The agreement proposed to an offer's provider, under the given id. */
  readonly propose: (offer: SignedOffer, agreementId: string) => AgreementProposalBody
  /** The IP address a provider is connected from, if it is connected. */
  readonly hostOf: (peerId: string) => string | undefined
  /** Most providers linked (or being linked) at once. */
  readonly maxProviders: number
  /** How long to leave a provider alone after its session failed. */
  readonly reconnectBackoffMs: number
  /** Replicas per task: a single copy may go back to a provider that failed it. */
  readonly replication: number
  /** Replicas of one task go to providers at different IP addresses. */
  readonly distinctHosts: boolean
  /** The time in ms: backoff is measured by it. */
  readonly clock: () => number
  readonly handlers: PoolHandlers
}

/** How long a provider has to answer an agreement proposal. */
const LINK_TIMEOUT_MS = 10_000

/**
 * Agreements proposed at once; the next offers are tried as these end (discover is called again
 * every 250 ms and on every new offer). A job that proposed to 500 providers at once had most
 * proposals time out on a loaded machine and tried them again and again: 2,165 timeouts in one run.
 */
export const MAX_LINKING = 16

/**
 * The providers one job works with: links them from the offers it is given (within maxProviders,
 * leaving a provider whose session failed alone for a while), keeps each one's window and pace,
 * says which provider may hold a replica of a task, and drops providers.
 */
export class ProviderPool {
  private readonly deps: ProviderPoolDeps
  private readonly links = new Map<string, PooledProvider>()
  private readonly connecting = new Set<string>()
  private readonly backoffUntil = new Map<string, number>()
  /** Sessions of this job that failed or ended, per provider. */
  private readonly failures = new Map<string, number>()
  /** The last address seen per provider (it may have disconnected since its replica ran). */
  private readonly knownHosts = new Map<string, string>()
  private readonly stopController = new AbortController()
  private agreements = 0
  private stopped = false

  constructor (deps: ProviderPoolDeps) {
    this.deps = deps
  }

  get (peerId: string): PooledProvider | undefined {
    return this.links.get(peerId)
  }

  providers (): IterableIterator<PooledProvider> {
    return this.links.values()
  }

  /** Whether the pool would propose another agreement now (within maxProviders and MAX_LINKING). */
  wantsProviders (): boolean {
    return this.links.size + this.connecting.size < this.deps.maxProviders && this.connecting.size < MAX_LINKING
  }

  /**
   * Links the offers' providers that are neither linked nor backing off, up to maxProviders,
   * MAX_LINKING at a time: those whose sessions in this job failed fewest times first, each group
   * in the offers' order. On a loaded machine (500 providers on two cores) a job that went by the
   * offers' order alone spent its proposals retrying the first providers, whose sessions kept
   * failing, and never proposed to 91 of them.
   */
  discover (offers: readonly SignedOffer[]): void {
    if (!this.wantsProviders()) return
    const now = this.deps.clock()
    const open = offers.filter(({ body: { peerId } }) =>
      !this.links.has(peerId) && !this.connecting.has(peerId) && (this.backoffUntil.get(peerId) ?? 0) <= now)
    // Stable, so the offers' order (cheapest first) holds among providers that failed as often.
    if (this.failures.size > 0) open.sort((a, b) => this.failuresOf(a.body.peerId) - this.failuresOf(b.body.peerId))
    for (const offer of open) {
      if (!this.wantsProviders()) return
      void this.connect(offer)
    }
  }

  /** Whether the provider's window has room for one more task. */
  hasRoom (provider: PooledProvider): boolean {
    return provider.inFlight.size < windowOf(provider)
  }

  /** A task's sandbox time on the provider: its pace, which sizes its window. */
  recordPace (provider: PooledProvider, wallMs: number): void {
    provider.taskMs = provider.taskMs === undefined ? wallMs : 0.8 * provider.taskMs + 0.2 * wallMs
  }

  /**
   * Offers every provider with room a task, round robin, until a round places none: `take` answers
   * whether it gave the provider one.
   */
  fillWindows (take: (provider: PooledProvider) => boolean): void {
    let progress = true
    while (progress) {
      progress = false
      for (const provider of this.links.values()) {
        if (this.hasRoom(provider) && take(provider)) progress = true
      }
    }
  }

  /**
   * Whether `peerId` may take a replica of a task the providers `triedBy` already ran or hold:
   * replicas of one task always go to different providers; a single copy may go back to one that
   * failed it when every other linked provider has tried it too.
   */
  mayTake (peerId: string, triedBy: ReadonlySet<string> | undefined): boolean {
    const fresh = triedBy?.has(peerId) !== true && !this.sharesHost(peerId, triedBy)
    return fresh || (this.deps.replication === 1 && [...this.links.keys()].every(other => other === peerId || triedBy?.has(other) === true))
  }

  /** Ends the sessions of those of `peerIds` that are linked, as if their links closed; answers them. */
  drop (peerIds: ReadonlySet<string>, reason: string): string[] {
    const dropped: string[] = []
    for (const [peerId, provider] of [...this.links]) {
      if (!peerIds.has(peerId)) continue
      void provider.link.close()
      this.leave(provider, reason)
      dropped.push(peerId)
    }
    return dropped
  }

  /** No new sessions, and none of those that close is reported: the job is over or the node stops. */
  stop (): void {
    this.stopped = true
    this.stopController.abort()
  }

  /** Closes every session. */
  async close (): Promise<void> {
    await Promise.allSettled([...this.links.values()].map(async ({ link }) => link.close()))
    this.links.clear()
  }

  private async connect (offer: SignedOffer): Promise<void> {
    const peerId = offer.body.peerId
    this.connecting.add(peerId)
    const proposal = this.deps.propose(offer, `${this.deps.jobId}.${++this.agreements}`)
    const { handlers } = this.deps
    let provider: PooledProvider | undefined
    const linkHandlers: LinkHandlers = {
      onStarted: taskIds => { if (provider !== undefined) handlers.onStarted(provider, taskIds) },
      onResults: (results, batch) => { if (provider !== undefined) handlers.onResults(provider, results, batch) },
      outstanding: () => provider === undefined ? [] : [...provider.inFlight].map(([idx, attempt]) => ({ taskId: String(idx), attempt })),
      onLost: tasks => { if (provider !== undefined) handlers.onLost(provider, tasks) },
      onMoved: path => {
        this.deps.events.emit({ type: 'provider.moved', jobId: this.deps.jobId, provider: peerId, path })
        handlers.onMoved()
      },
      onClosed: reason => { if (provider !== undefined) this.leave(provider, reason) },
    }
    try {
      const link = await this.deps.openLink(offer, proposal, linkHandlers, AbortSignal.any([this.stopController.signal, AbortSignal.timeout(LINK_TIMEOUT_MS)]))
      provider = { link, inFlight: new Map(), cores: offer.body.cores, taskMs: undefined }
      if (this.stopped) {
        await link.close()
        return
      }
      this.links.set(peerId, provider)
      handlers.onLinked(provider)
      this.deps.events.emit({ type: 'provider.linked', jobId: this.deps.jobId, provider: peerId, maxInFlight: link.maxInFlight, path: link.path() })
    } catch (error) {
      this.backOff(peerId)
      this.deps.events.emit({ type: 'provider.lost', jobId: this.deps.jobId, provider: peerId, reason: messageOf(error) })
    } finally {
      this.connecting.delete(peerId)
    }
  }

  /** A provider's session is over: it leaves the pool and is left alone for a while. */
  private leave (provider: PooledProvider, reason: string): void {
    const { peerId } = provider.link
    if (this.links.get(peerId) !== provider) return
    this.links.delete(peerId)
    this.backOff(peerId)
    if (this.stopped) return
    this.deps.events.emit({ type: 'provider.lost', jobId: this.deps.jobId, provider: peerId, reason })
    this.deps.handlers.onClosed(provider, reason)
  }

  private backOff (peerId: string): void {
    this.backoffUntil.set(peerId, this.deps.clock() + this.deps.reconnectBackoffMs)
    this.failures.set(peerId, this.failuresOf(peerId) + 1)
  }

  private failuresOf (peerId: string): number {
    return this.failures.get(peerId) ?? 0
  }

  /**
   * With `distinctHosts`, replicas of one task never run on providers at the same IP address: one
   * machine (or one operator behind one address, as a household behind one NAT) posing as several
   * providers cannot outvote others. A provider whose address is unknown (reached only through a
   * relay) cannot show that it differs, so it holds no second replica.
   */
  private sharesHost (peerId: string, triedBy: ReadonlySet<string> | undefined): boolean {
    if (!this.deps.distinctHosts || this.deps.replication === 1) return false
    const others = [...triedBy ?? []].filter(other => other !== peerId)
    if (others.length === 0) return false
    const host = this.hostOf(peerId)
    return host === undefined || others.some(other => {
      const otherHost = this.hostOf(other)
      return otherHost === undefined || otherHost === host
    })
  }

  /** A provider's address now, or the last one seen. */
  private hostOf (peerId: string): string | undefined {
    const host = this.deps.hostOf(peerId)
    if (host === undefined) return this.knownHosts.get(peerId)
    this.knownHosts.set(peerId, host)
    return host
  }
}
