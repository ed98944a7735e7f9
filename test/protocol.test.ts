// Hostile peers on every wire protocol: malformed bytes, oversized frames, schema violations and
// wrong signatures are refused with a typed error, and the node goes on serving honest peers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { generateNodeKey } from '../src/identity/index.ts'
import { createOffer, OfferBook, startOfferExchange } from '../src/market/index.ts'
import { encodeFrame, FramedStream, hostOptions, toRequester, MAX_OFFER_FRAME_BYTES, offerBookRequest, MAX_TASK_FRAME_BYTES, PROTOCOL_OFFER, PROTOCOL_OFFER_BOOK, PROTOCOL_TASK, protocolError, signBody, SIGNING_DOMAIN, TOPIC_OFFERS, decodeFrame } from '../src/net/index.ts'
import { defaultNodeConfig, startNode } from '../src/node/index.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { waitFor } from './helpers.ts'
import type { AgreementProposalBody } from '../src/net/index.ts'

const base = await mkdtemp(join(tmpdir(), 'conun-protocol-'))
const provider = await startNode({ ...defaultNodeConfig(), dataDir: join(base, 'provider'), devnet: true, provide: true }, 'test')
const requester = await startNode({ ...defaultNodeConfig(), dataDir: join(base, 'requester'), devnet: true, bootstrap: provider.host.getMultiaddrs().map(String) }, 'test')
const attackerKey = await generateNodeKey()
const attacker = await createLibp2p(await hostOptions({ privateKey: attackerKey.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
const rejections: string[] = []
provider.provider!.events.on(event => { if (event.type === 'protocol.rejected') rejections.push(event.code) })

test.after(async () => {
  await attacker.stop()
  await requester.stop()
  await provider.stop()
  await rm(base, { recursive: true, force: true })
})

function varint (value: number): Uint8Array {
  const bytes: number[] = []
  for (; value >= 0x80; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80)
  return Uint8Array.from([...bytes, value])
}

/** Sends frames (or raw bytes) on a fresh stream and returns the error the node answers with. */
async function exchange (protocol: string, frames: Uint8Array[], maxFrame: number, raw?: Uint8Array) {
  const stream = await attacker.dialProtocol(provider.host.getMultiaddrs()[0]!, protocol)
  if (raw !== undefined) stream.send(raw)
  const lp = lpStream(stream, { maxDataLength: maxFrame, maxBufferSize: maxFrame * 2 })
  // The node may hang up before it has read everything (an oversized frame): don't wait on the writes.
  const writing = (async () => { for (const frame of frames) await lp.write(frame) })().catch(() => {})
  const reply = await lp.read({ signal: AbortSignal.timeout(5000) })
  await writing
  return decodeFrame(reply.subarray(), protocolError, maxFrame)
}

function proposal (overrides: Partial<AgreementProposalBody> = {}): AgreementProposalBody {
  return {
    agreementId: 'a1', jobId: 'j1', chainId: 31337, requester: attackerKey.address, provider: provider.key.address,
    specHash: `0x${'00'.repeat(32)}`, runtime: 'wasi', limits: { memoryBytes: 1 << 20, timeoutMs: 1000, outputBytes: 1 << 20 },
    maxInFlight: 4, pricePerTaskWei: '0', escrow: null, expiresAt: Date.now() + 60_000, ...overrides,
  }
}

test('offer protocol: malformed and oversized frames are refused', async () => {
  assert.equal((await exchange(PROTOCOL_OFFER, [new Uint8Array([0xff, 0xfe, 0x00])], MAX_OFFER_FRAME_BYTES)).code, 'malformed')
  assert.equal((await exchange(PROTOCOL_OFFER, [encodeFrame({ type: 'offer.request', v: 2 })], MAX_OFFER_FRAME_BYTES)).code, 'schema')
  assert.equal((await exchange(PROTOCOL_OFFER, [new Uint8Array(MAX_OFFER_FRAME_BYTES + 1)], MAX_OFFER_FRAME_BYTES + 16)).code, 'oversized')
})

test('task protocol: malformed, oversized, out-of-order and schema-violating messages are refused', async () => {
  assert.equal((await exchange(PROTOCOL_TASK, [encodeFrame('{').subarray(1)], MAX_TASK_FRAME_BYTES)).code, 'malformed')
  assert.equal((await exchange(PROTOCOL_TASK, [encodeFrame({ type: 'task.assign', v: 1, tasks: [{ taskId: '../../x' }] })], MAX_TASK_FRAME_BYTES)).code, 'schema')
  assert.equal((await exchange(PROTOCOL_TASK, [encodeFrame({ type: 'task.cancel', v: 1, taskIds: ['1'] })], MAX_TASK_FRAME_BYTES)).code, 'unexpected')
  // A length prefix over the limit is refused before the body is read or buffered.
  assert.equal((await exchange(PROTOCOL_TASK, [], MAX_TASK_FRAME_BYTES, varint(MAX_TASK_FRAME_BYTES + 1))).code, 'oversized')
  // Actually sending 9 MiB: libp2p resets the stream once its read buffer is full.
  const flood = await exchange(PROTOCOL_TASK, [new Uint8Array(MAX_TASK_FRAME_BYTES + 1024 * 1024)], MAX_TASK_FRAME_BYTES * 2).then(reply => reply.code, (error: Error) => error.name)
  assert.ok(['oversized', 'StreamResetError'].includes(flood), flood)
})

test('task protocol: agreements with wrong signatures, chain or provider are refused', async () => {
  const body = proposal()
  const forged = signBody((await generateNodeKey()).secret, SIGNING_DOMAIN.agreementProposal, body)
  assert.equal((await exchange(PROTOCOL_TASK, [encodeFrame({ type: 'agreement.propose', v: 3, body, signature: forged })], MAX_TASK_FRAME_BYTES)).code, 'bad-signature')
  const otherDomain = signBody(attackerKey.secret, SIGNING_DOMAIN.offer, body)
  assert.equal((await exchange(PROTOCOL_TASK, [encodeFrame({ type: 'agreement.propose', v: 3, body, signature: otherDomain })], MAX_TASK_FRAME_BYTES)).code, 'bad-signature')
  const otherChain = proposal({ chainId: 1 })
  assert.equal((await exchange(PROTOCOL_TASK, [encodeFrame({ type: 'agreement.propose', v: 3, body: otherChain, signature: signBody(attackerKey.secret, SIGNING_DOMAIN.agreementProposal, otherChain) })], MAX_TASK_FRAME_BYTES)).code, 'unexpected')
  const otherProvider = proposal({ provider: attackerKey.address })
  assert.equal((await exchange(PROTOCOL_TASK, [encodeFrame({ type: 'agreement.propose', v: 3, body: otherProvider, signature: signBody(attackerKey.secret, SIGNING_DOMAIN.agreementProposal, otherProvider) })], MAX_TASK_FRAME_BYTES)).code, 'unexpected')
})

test('task protocol: tasks beyond the agreed window are refused, not queued', async () => {
  const stream = await attacker.dialProtocol(provider.host.getMultiaddrs()[0]!, PROTOCOL_TASK)
  const framed = new FramedStream(stream, toRequester, MAX_TASK_FRAME_BYTES)
  const body = proposal({ maxInFlight: 4 })
  await framed.write({ type: 'agreement.propose', v: 3, body, signature: signBody(attackerKey.secret, SIGNING_DOMAIN.agreementProposal, body) })
  const accepted = await framed.read({ signal: AbortSignal.timeout(5000) })
  assert.equal(accepted.type, 'agreement.accept')
  // Code that nobody can serve: the four tasks in the window wait to fetch it; the rest are refused.
  const missing = { cid: 'bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', size: 10 }
  const tasks = Array.from({ length: 10 }, (_, i) => ({ taskId: String(i), attempt: 1, module: missing, args: [], env: {}, inputs: [], limits: body.limits }))
  await framed.write({ type: 'task.assign', v: 1, tasks })
  const refused: string[] = []
  while (refused.length < 6) {
    const message = await framed.read({ signal: AbortSignal.timeout(5000) })
    if (message.type === 'task.results') refused.push(...message.body.results.map(result => `${result.taskId}:${result.message}`))
  }
  assert.deepEqual(refused, [4, 5, 6, 7, 8, 9].map(i => `${i}:more than the agreed 4 tasks in flight`))
  await framed.close()
})

test('task protocol: a session outlives its stream, and only the requester that agreed it may resume it', async () => {
  const open = async () => new FramedStream(await attacker.dialProtocol(provider.host.getMultiaddrs()[0]!, PROTOCOL_TASK), toRequester, MAX_TASK_FRAME_BYTES)
  const first = await open()
  const body = proposal({ agreementId: 'resumable', maxInFlight: 2 })
  await first.write({ type: 'agreement.propose', v: 3, body, signature: signBody(attackerKey.secret, SIGNING_DOMAIN.agreementProposal, body) })
  assert.equal((await first.read({ signal: AbortSignal.timeout(5000) })).type, 'agreement.accept')
  // A task that waits (its code is nowhere), then the stream breaks without session.end.
  const missing = { cid: 'bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', size: 10 }
  await first.write({ type: 'task.assign', v: 1, tasks: [{ taskId: '7', attempt: 1, module: missing, args: [], env: {}, inputs: [], limits: body.limits }] })
  first.stream.abort(new Error('the connection broke'))

  // Another key, on its own connection, cannot take the session over.
  const stranger = await createLibp2p(await hostOptions({ privateKey: (await generateNodeKey()).privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
  try {
    const framed = new FramedStream(await stranger.dialProtocol(provider.host.getMultiaddrs()[0]!, PROTOCOL_TASK), toRequester, MAX_TASK_FRAME_BYTES)
    await framed.write({ type: 'session.resume', v: 1, agreementId: 'resumable', outstanding: [{ taskId: '7', attempt: 1 }] })
    const refused = await framed.read({ signal: AbortSignal.timeout(5000) })
    assert.equal(refused.type, 'error')
    assert.match(refused.type === 'error' ? refused.message : '', /no session resumable to resume/)
  } finally {
    await stranger.stop()
  }

  // The requester resumes: its task is still there, the one it never sent is lost, and the session answers.
  const again = await open()
  await again.write({ type: 'session.resume', v: 1, agreementId: 'resumable', outstanding: [{ taskId: '7', attempt: 1 }, { taskId: '8', attempt: 1 }] })
  const resumed = await again.read({ signal: AbortSignal.timeout(5000) })
  assert.deepEqual(resumed, { type: 'session.resumed', v: 1, agreementId: 'resumable', lost: [{ taskId: '8', attempt: 1 }] })
  await again.write({ type: 'session.ping', v: 1, nonce: 42 })
  let pong
  while ((pong = await again.read({ signal: AbortSignal.timeout(5000) })).type !== 'session.pong') { /* task.started may come first */ }
  assert.deepEqual(pong, { type: 'session.pong', v: 1, nonce: 42 })
  await again.write({ type: 'session.end', v: 1 })
  await again.close()
})

test('gossip: forged and malformed offers never enter the offer book', async () => {
  await attacker.dial(requester.host.getMultiaddrs()[0]!)
  const pubsub = attacker.services.pubsub
  pubsub.subscribe(TOPIC_OFFERS)
  await waitFor(() => pubsub.getSubscribers(TOPIC_OFFERS).some(peer => peer.equals(requester.host.peerId)), 10_000, 'the requester in the offer topic')
  // Docker only, so that the honest job below never goes to this peer, which serves nothing.
  const honest = createOffer(attackerKey, { chainId: 31337, runtimes: ['docker'], cores: 64, memoryBytes: 1 << 30, cpuModel: 'x', pricePerTaskWei: '0', addrs: [] }, 60_000)
  const forged = { ...honest, body: { ...honest.body, cores: 4096 } }
  const stolen = createOffer(attackerKey, { chainId: 31337, runtimes: ['wasi'], cores: 1, memoryBytes: 1, cpuModel: 'x', pricePerTaskWei: '0', addrs: [] }, 60_000)
  const impersonation = { ...stolen, body: { ...stolen.body, peerId: provider.key.peerId.toString(), provider: provider.key.address } }
  // Validly signed, but made to sit in offer books: a year's validity, or issued an hour ahead.
  const [lasting, early, sybil] = await Promise.all([generateNodeKey(), generateNodeKey(), generateNodeKey()])
  const terms = { chainId: 31337, runtimes: ['wasi' as const], cores: 1, memoryBytes: 1, cpuModel: 'x', pricePerTaskWei: '0', addrs: [] }
  const yearLong = createOffer(lasting, terms, 365 * 24 * 3600_000)
  const fromTheFuture = createOffer(early, terms, 60_000, Date.now() + 3600_000)
  for (const message of [new Uint8Array([1, 2, 3]), encodeFrame({ type: 'offer', v: 1 }), encodeFrame(forged), encodeFrame(impersonation), encodeFrame(yearLong), encodeFrame(fromTheFuture)]) {
    await pubsub.publish(TOPIC_OFFERS, message).catch(() => {})
  }
  // A plain offer sent after them arrives, so they did too: and were refused.
  await pubsub.publish(TOPIC_OFFERS, encodeFrame(createOffer(sybil, { ...terms, runtimes: ['docker'] }, 60_000))).catch(() => {})
  await waitFor(() => requester.offers.get(sybil.peerId.toString()) !== undefined, 10_000, 'the plain offer')
  for (const key of [attackerKey, lasting, early]) assert.equal(requester.offers.get(key.peerId.toString()), undefined)
  assert.equal(requester.offers.get(provider.key.peerId.toString())?.body.cores, provider.config.provider.cores)
  // The positive control: the offer the forgery was made from, published as signed, is taken.
  await pubsub.publish(TOPIC_OFFERS, encodeFrame(honest))
  await waitFor(() => requester.offers.get(attackerKey.peerId.toString()) !== undefined, 10_000, 'the honest offer')
  assert.equal(requester.offers.get(attackerKey.peerId.toString())?.body.cores, 64)
})

test('offer books: a node that joins asks its first peers for their books, and verifies every offer in them', async (t) => {
  const terms = { chainId: 31337, runtimes: ['docker' as const], cores: 1, memoryBytes: 1, cpuModel: 'x', pricePerTaskWei: '0', addrs: [] }
  const [honestKey, forgerKey] = await Promise.all([generateNodeKey(), generateNodeKey()])
  const honest = createOffer(honestKey, terms, 60_000)
  const forgedSource = createOffer(forgerKey, terms, 60_000)
  const forged = { ...forgedSource, body: { ...forgedSource.body, cores: 4096 } }
  // A hostile peer's book: a forged offer beside an honest one it relays.
  const hostileKey = await generateNodeKey()
  const hostile = await createLibp2p(await hostOptions({ privateKey: hostileKey.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
  t.after(() => hostile.stop())
  await hostile.handle(PROTOCOL_OFFER_BOOK, async stream => {
    const framed = new FramedStream(stream, offerBookRequest, MAX_OFFER_FRAME_BYTES)
    await framed.read()
    for (const offer of [forged, honest]) await framed.write(offer)
    await framed.close()
  })
  const joinerKey = await generateNodeKey()
  const joiner = await createLibp2p(await hostOptions({ privateKey: joinerKey.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
  const book = new OfferBook()
  const exchange = await startOfferExchange({ host: joiner, book, chainId: 31337, collect: true })
  t.after(async () => {
    await exchange.stop()
    await joiner.stop()
  })
  await joiner.dial(hostile.getMultiaddrs()[0]!)
  await waitFor(() => book.get(honestKey.peerId.toString()) !== undefined, 10_000, 'the honest offer from the hostile book')
  assert.equal(book.get(forgerKey.peerId.toString()), undefined, 'the forged offer is refused')
  // Through the requester, which holds the provider's offer: the joiner never connects to the provider.
  await joiner.dial(requester.host.getMultiaddrs()[0]!)
  await waitFor(() => book.get(provider.key.peerId.toString()) !== undefined, 10_000, 'the provider\'s offer from the requester\'s book')
  assert.equal(book.get(provider.key.peerId.toString())?.body.cores, provider.config.provider.cores)
  // A book is sent to a peer once a minute at most (it may be half a MB): the next ask is refused.
  const again = await joiner.dialProtocol(requester.host.peerId, PROTOCOL_OFFER_BOOK)
  const framed = new FramedStream(again, protocolError, MAX_OFFER_FRAME_BYTES)
  await framed.write({ type: 'offer.book.request', v: 1 })
  assert.equal((await framed.read({ signal: AbortSignal.timeout(5000) })).code, 'unexpected')
})

test('a hostile message is reported, and the provider still serves an honest job', async () => {
  // Its own hostile message, so that the test holds whichever tests ran before it.
  const before = rejections.length
  assert.equal((await exchange(PROTOCOL_TASK, [encodeFrame('{').subarray(1)], MAX_TASK_FRAME_BYTES)).code, 'malformed')
  await waitFor(() => rejections.length > before, 5000, 'the provider to report the rejection')
  assert.deepEqual(rejections.slice(before), ['malformed'])
  const module = await requester.storage.putFile(await buildWasiFixture('echo'))
  const job = await requester.requester.submitJob((await import('../src/requester/index.ts')).parseJobSpec({ runtime: 'wasi', module: module.cid, range: { count: 5, args: ['{i}'] } }))
  const done = await requester.requester.waitForJob(job.id)
  assert.equal(done.state, 'completed')
})
