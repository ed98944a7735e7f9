import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import { generateNodeKey } from '../identity/index.ts'
import { hostOptions, TOPIC_OFFERS } from '../net/index.ts'
import { waitFor } from '../util/index.ts'
import { OfferBook } from './offerBook.ts'
import { startOfferExchange } from './offerExchange.ts'
import { ownOffer } from './ownOffer.ts'
import type { OfferTerms } from './offer.ts'

async function startPeer (collect: boolean, terms?: () => Omit<OfferTerms, 'addrs'>) {
  const key = await generateNodeKey()
  const host = await createLibp2p(await hostOptions({ privateKey: key.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
  const book = new OfferBook()
  const offer = terms === undefined ? undefined : ownOffer(key, () => ({ ...terms(), addrs: host.getMultiaddrs().map(String) }))
  const exchange = await startOfferExchange({ host, book, chainId: 31337, collect, ...(offer === undefined ? {} : { ownOffer: offer }) })
  return { id: key.peerId.toString(), host, book, exchange, async stop () { await exchange.stop(); await host.stop() } }
}

test('a provider that does not request announces its offer and gathers none, until it collects', async (t) => {
  let cores = 1
  const terms = () => ({ chainId: 31337, runtimes: ['wasi' as const], cores, memoryBytes: 1 << 30, cpuModel: 'test', pricePerTaskWei: '0' })
  const [requester, first, second] = await Promise.all([startPeer(true), startPeer(false, terms), startPeer(false, terms)])
  t.after(() => Promise.all([requester, first, second].map(async peer => peer.stop())))
  await Promise.all([first, second].map(async peer => peer.host.dial(requester.host.getMultiaddrs())))
  await first.host.dial(second.host.getMultiaddrs())
  await waitFor(() => requester.book.get(first.id) !== undefined && requester.book.get(second.id) !== undefined, 10_000, 'both offers at the requester')

  // The providers met each other as the requester met them, but neither listens to offers.
  assert.deepEqual([first.book.list().length, second.book.list().length], [0, 0])
  assert.ok(!first.host.services.pubsub.getTopics().includes(TOPIC_OFFERS))
  // A provider's new terms still reach the requester by gossip, though the provider does not subscribe.
  cores = 2
  await waitFor(() => requester.book.get(second.id)?.body.cores === 2, 15_000, 'the new offer by gossip')

  first.exchange.collect()
  assert.ok(first.host.services.pubsub.getTopics().includes(TOPIC_OFFERS))
  await waitFor(() => first.book.get(second.id)?.body.cores === 2, 10_000, 'the other provider\'s offer, once collecting')
})
