// The provider pool on its own: fake links that open (or fail to) when the test says, an injected
// clock for backoff, and the handlers' calls recorded, so linking, windows, the choice of provider
// for a replica and dropping are checked without a network or a job.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateNodeKey } from '../identity/index.ts'
import { createOffer } from '../market/index.ts'
import { EventHub } from '../util/index.ts'
import { MAX_LINKING, ProviderPool } from './providerPool.ts'
import type { LinkHandlers, OpenLink, ProviderLink } from './providerLink.ts'
import type { PooledProvider, ProviderPoolDeps } from './providerPool.ts'
import type { RequesterEvent } from './requesterEvents.ts'
import type { AgreementProposalBody, SignedOffer } from '../net/index.ts'

const BACKOFF_MS = 5_000

/** A session as the pool sees it, with the handlers through which it reports (as the provider going away). */
class FakeLink implements ProviderLink {
  readonly peerId: string
  readonly address: string
  readonly agreementId: string
  readonly maxInFlight: number
  readonly handlers: LinkHandlers
  closed = false

  constructor (offer: SignedOffer, proposal: AgreementProposalBody, handlers: LinkHandlers) {
    this.peerId = offer.body.peerId
    this.address = offer.body.provider
    this.agreementId = proposal.agreementId
    this.maxInFlight = proposal.maxInFlight
    this.handlers = handlers
  }

  path () { return 'direct' as const }
  rttMs () { return 0 }
  assign () {}
  cancel () {}
  sendReceipt () {}
  async close () { this.closed = true }
}

async function offersOf (count: number, cores = 1): Promise<SignedOffer[]> {
  return Promise.all(Array.from({ length: count }, async () => createOffer(await generateNodeKey(), { chainId: 31337, runtimes: ['wasi'], cores, memoryBytes: 1 << 30, cpuModel: 'test', pricePerTaskWei: '0', addrs: [] }, 60_000)))
}

/** Lets links that are opening finish opening. */
const settle = async () => new Promise(resolve => setImmediate(resolve))

function poolWith (options: Partial<Pick<ProviderPoolDeps, 'maxProviders' | 'replication' | 'distinctHosts' | 'hostOf'>> & { refuse?: ReadonlySet<string>, maxInFlight?: number, answered?: Promise<void> } = {}) {
  let time = 1_000_000
  const links = new Map<string, FakeLink>()
  const proposals: AgreementProposalBody[] = []
  const linked: string[] = []
  const gone: Array<{ peerId: string, reason: string, held: Array<[number, number]> }> = []
  const events: RequesterEvent[] = []
  const hub = new EventHub<RequesterEvent>()
  hub.on(event => events.push(event))
  const openLink: OpenLink = async (offer, proposal, handlers) => {
    proposals.push(proposal)
    await options.answered
    if (options.refuse?.has(offer.body.peerId) === true) throw new Error('the provider refused the agreement')
    const link = new FakeLink(offer, proposal, handlers)
    links.set(link.peerId, link)
    return link
  }
  const pool = new ProviderPool({
    jobId: 'j',
    openLink,
    events: hub,
    propose: (offer, agreementId) => ({
      agreementId, jobId: 'j', chainId: 31337, requester: '0x0000000000000000000000000000000000000002', provider: offer.body.provider,
      specHash: `0x${'00'.repeat(32)}`, runtime: 'wasi', limits: { memoryBytes: 1 << 20, timeoutMs: 60_000, outputBytes: 1 << 20 },
      maxInFlight: options.maxInFlight ?? 4, pricePerTaskWei: '0', escrow: null, expiresAt: time + 60_000,
    }),
    hostOf: options.hostOf ?? (() => undefined),
    maxProviders: options.maxProviders ?? 64,
    reconnectBackoffMs: BACKOFF_MS,
    replication: options.replication ?? 1,
    distinctHosts: options.distinctHosts ?? false,
    clock: () => time,
    handlers: {
      onLinked: provider => linked.push(provider.link.peerId),
      onStarted: () => {},
      onResults: () => {},
      onLost: () => {},
      onMoved: () => {},
      onClosed: (provider, reason) => gone.push({ peerId: provider.link.peerId, reason, held: [...provider.inFlight] }),
    },
  })
  return { pool, links, proposals, linked, gone, events, advance: (ms: number) => { time += ms } }
}

const lostEvents = (events: readonly RequesterEvent[]) => events.flatMap(event => event.type === 'provider.lost' ? [[event.provider, event.reason]] : [])

describe('the provider pool', () => {
  it('links the offered providers in order, up to maxProviders, each under an agreement of its own', async () => {
    const offers = await offersOf(3)
    const { pool, proposals, linked, events } = poolWith({ maxProviders: 2 })
    pool.discover(offers)
    await settle()
    assert.deepEqual(linked, offers.slice(0, 2).map(offer => offer.body.peerId))
    assert.deepEqual(proposals.map(proposal => proposal.agreementId), ['j.1', 'j.2'])
    assert.deepEqual([...pool.providers()].map(provider => provider.cores), [1, 1])
    assert.deepEqual(events.filter(event => event.type === 'provider.linked').map(event => event.provider), linked)
    // Linked providers are not linked twice; the pool is full, so the third waits.
    pool.discover(offers)
    await settle()
    assert.equal(proposals.length, 2)
  })

  it('proposes MAX_LINKING agreements at once, and the next ones as those are answered', async () => {
    const offers = await offersOf(MAX_LINKING + 4)
    const answer = Promise.withResolvers<void>()
    const { pool, proposals, linked } = poolWith({ answered: answer.promise })
    pool.discover(offers)
    await settle()
    assert.equal(proposals.length, MAX_LINKING)
    answer.resolve()
    await settle()
    assert.equal(linked.length, MAX_LINKING)
    pool.discover(offers)
    await settle()
    assert.deepEqual(linked, offers.map(offer => offer.body.peerId))
  })

  it('proposes to providers whose sessions have not failed before those whose have, in the offers\' order within each', async () => {
    const offers = await offersOf(MAX_LINKING + 4)
    const failing = offers.slice(0, MAX_LINKING)
    const { pool, proposals, linked, advance } = poolWith({ refuse: new Set(failing.map(offer => offer.body.peerId)) })
    pool.discover(offers)
    await settle()
    assert.deepEqual(proposals.map(proposal => proposal.provider), failing.map(offer => offer.body.provider))
    advance(BACKOFF_MS)
    pool.discover(offers)
    await settle()
    // The four never proposed to come first, though they are last in the offers' order; then the
    // failed ones again, in that order, as many as MAX_LINKING leaves room for.
    assert.deepEqual(proposals.slice(MAX_LINKING).map(proposal => proposal.provider), [...offers.slice(MAX_LINKING), ...failing].slice(0, MAX_LINKING).map(offer => offer.body.provider))
    assert.deepEqual(linked, offers.slice(MAX_LINKING).map(offer => offer.body.peerId))
  })

  it('a provider whose link closes is lost with the attempts it held, and is left alone for the backoff by the clock', async () => {
    const [offer] = await offersOf(1)
    const { pool, links, proposals, gone, events, advance } = poolWith()
    pool.discover([offer!])
    await settle()
    const provider = pool.get(offer!.body.peerId)!
    provider.inFlight.set(7, 2)
    links.get(offer!.body.peerId)!.handlers.onClosed('the provider went away')
    assert.equal(pool.get(offer!.body.peerId), undefined)
    assert.deepEqual(gone, [{ peerId: offer!.body.peerId, reason: 'the provider went away', held: [[7, 2]] }])
    assert.deepEqual(lostEvents(events), [[offer!.body.peerId, 'the provider went away']])
    advance(BACKOFF_MS - 1)
    pool.discover([offer!])
    await settle()
    assert.equal(proposals.length, 1, 'not again within the backoff')
    advance(1)
    pool.discover([offer!])
    await settle()
    assert.deepEqual(proposals.map(proposal => proposal.agreementId), ['j.1', 'j.2'])
    assert.notEqual(pool.get(offer!.body.peerId), provider, 'a new session, with nothing in flight')
    assert.equal(pool.get(offer!.body.peerId)!.inFlight.size, 0)
  })

  it('a provider that refuses the agreement is lost and backs off too, while the others link', async () => {
    const offers = await offersOf(2)
    const refuser = offers[0]!.body.peerId
    const { pool, proposals, linked, gone, events, advance } = poolWith({ refuse: new Set([refuser]) })
    pool.discover(offers)
    await settle()
    assert.deepEqual(linked, [offers[1]!.body.peerId])
    assert.deepEqual(lostEvents(events), [[refuser, 'the provider refused the agreement']])
    assert.deepEqual(gone, [], 'it held nothing: the scheduler hears nothing')
    pool.discover(offers)
    await settle()
    assert.equal(proposals.length, 2)
    advance(BACKOFF_MS)
    pool.discover(offers)
    await settle()
    assert.deepEqual(proposals.map(proposal => proposal.provider), [offers[0]!.body.provider, offers[1]!.body.provider, offers[0]!.body.provider])
  })

  it('fills windows round robin: cores + 1 until a provider\'s pace is known, then what its pace needs within the agreed window', async () => {
    const offers = await offersOf(2, 2)
    const { pool } = poolWith({ maxInFlight: 8 })
    pool.discover(offers)
    await settle()
    const [first, second] = [...pool.providers()] as [PooledProvider, PooledProvider]
    let next = 0
    const order: string[] = []
    const give = (provider: PooledProvider) => {
      order.push(provider === first ? 'first' : 'second')
      provider.inFlight.set(next, 1)
      next++
      return true
    }
    pool.fillWindows(give)
    assert.deepEqual(order, ['first', 'second', 'first', 'second', 'first', 'second'], 'two cores and one queued task each, in turn')
    assert.deepEqual([pool.hasRoom(first), pool.hasRoom(second)], [false, false])
    // Tasks of 10 ms: 2 cores × 50 ms of cover / 10 ms = 10 queued, held to the agreed 8.
    pool.recordPace(first, 10)
    assert.equal(first.taskMs, 10)
    order.length = 0
    pool.fillWindows(give)
    assert.deepEqual(order, ['first', 'first', 'first', 'first', 'first'])
    assert.equal(first.inFlight.size, 8)
    // The pace is a moving average: one slow task moves it a fifth of the way.
    pool.recordPace(first, 60)
    assert.equal(first.taskMs, 20)
    // A round that places nothing ends the filling.
    first.inFlight.clear()
    let offered = 0
    pool.fillWindows(() => { offered++; return false })
    assert.equal(offered, 1, 'only the provider with room was offered, once')
  })

  it('never gives a provider a second replica of a task; a single copy goes back to a provider that failed it only when every other one has tried it', async () => {
    const offers = await offersOf(2)
    const [a, b] = offers.map(offer => offer.body.peerId) as [string, string]
    const replicated = poolWith({ replication: 2 })
    replicated.pool.discover(offers)
    await settle()
    assert.equal(replicated.pool.mayTake(a, undefined), true)
    assert.equal(replicated.pool.mayTake(a, new Set([a])), false)
    assert.equal(replicated.pool.mayTake(a, new Set([a, b])), false)
    assert.equal(replicated.pool.mayTake(b, new Set([a])), true)

    const single = poolWith({ replication: 1 })
    single.pool.discover(offers)
    await settle()
    assert.equal(single.pool.mayTake(a, new Set([a])), false, 'b has not tried it')
    assert.equal(single.pool.mayTake(a, new Set([a, b])), true, 'nobody else is there')
  })

  it('with distinctHosts, replicas of a task go to providers at different addresses, remembered after they disconnect; an unknown address holds no second replica', () => {
    const hosts = new Map([['a', '10.0.0.1'], ['b', '10.0.0.1'], ['c', '10.0.0.2']])
    const { pool } = poolWith({ replication: 2, distinctHosts: true, hostOf: peerId => hosts.get(peerId) })
    assert.equal(pool.mayTake('b', new Set(['a'])), false, 'same address as a')
    assert.equal(pool.mayTake('c', new Set(['a'])), true)
    assert.equal(pool.mayTake('d', new Set(['a'])), false, 'd is reached through a relay only')
    assert.equal(pool.mayTake('c', new Set(['d'])), false, 'd cannot show it differs from c')
    assert.equal(pool.mayTake('d', undefined), true, 'a first replica goes anywhere')
    hosts.delete('a')
    assert.equal(pool.mayTake('b', new Set(['a'])), false, 'a\'s address is remembered')
    assert.equal(pool.mayTake('c', new Set(['a'])), true)
  })

  it('without distinctHosts, providers at one address may hold replicas of one task', () => {
    const { pool } = poolWith({ replication: 2, hostOf: () => '10.0.0.1' })
    assert.equal(pool.mayTake('b', new Set(['a'])), true)
  })

  it('drops the linked providers it is told to (blacklisted): their sessions close and the attempts they held are lost', async () => {
    const offers = await offersOf(2)
    const [bad, good] = offers.map(offer => offer.body.peerId) as [string, string]
    const { pool, links, gone, events } = poolWith()
    pool.discover(offers)
    await settle()
    pool.get(bad)!.inFlight.set(3, 1)
    assert.deepEqual(pool.drop(new Set([bad, 'never-linked']), 'blacklisted'), [bad])
    assert.equal(links.get(bad)!.closed, true)
    assert.equal(links.get(good)!.closed, false)
    assert.deepEqual([...pool.providers()].map(provider => provider.link.peerId), [good])
    assert.deepEqual(gone, [{ peerId: bad, reason: 'blacklisted', held: [[3, 1]] }])
    assert.deepEqual(lostEvents(events), [[bad, 'blacklisted']])
  })

  it('once stopped, reports no session that ends, closes one that opens late, and closes the rest on close', async () => {
    const offers = await offersOf(3)
    const [leaving, staying, late] = offers.map(offer => offer.body.peerId) as [string, string, string]
    const { pool, links, linked, gone, events } = poolWith()
    pool.discover(offers.slice(0, 2))
    await settle()
    pool.discover(offers.slice(2))
    // The third link is still opening when the job ends.
    pool.stop()
    await settle()
    assert.deepEqual(linked, [leaving, staying])
    assert.equal(links.get(late)!.closed, true, 'the late link is closed at once')
    // A provider going away now is no news: the job is over.
    links.get(leaving)!.handlers.onClosed('the session ended')
    assert.deepEqual([gone, lostEvents(events)], [[], []])
    assert.equal(links.get(staying)!.closed, false)
    await pool.close()
    assert.equal(links.get(staying)!.closed, true)
    assert.deepEqual([...pool.providers()], [])
  })
})
