// A proposal over real libp2p hosts on loopback, to a provider that never answers: the requester
// gives up at its signal, and the stream does not outlive the attempt at the provider's end.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import { generateNodeKey } from '../identity/index.ts'
import { createOffer } from '../market/index.ts'
import { hostOptions, PROTOCOL_TASK } from '../net/index.ts'
import { waitFor } from '../util/index.ts'
import { libp2pLinks } from './libp2pLink.ts'
import type { Stream } from '@libp2p/interface'
import type { AgreementProposalBody } from '../net/index.ts'

const hostOf = async (key: Awaited<ReturnType<typeof generateNodeKey>>) =>
  createLibp2p(await hostOptions({ privateKey: key.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))

describe('libp2p provider links', async () => {
  const requesterKey = await generateNodeKey()
  const providerKey = await generateNodeKey()
  const [requester, provider] = await Promise.all([hostOf(requesterKey), hostOf(providerKey)])
  after(async () => { await Promise.all([requester.stop(), provider.stop()]) })

  it('resets the stream of a proposal that was not answered in time, so the provider holds nothing for it', async () => {
    const streams: Stream[] = []
    // A provider too loaded to answer: it takes the stream and never replies.
    await provider.handle(PROTOCOL_TASK, stream => { streams.push(stream) }, { runOnLimitedConnection: true })
    const offer = await createOffer(providerKey, { chainId: 31337, runtimes: ['wasi'], cores: 1, memoryBytes: 1 << 30, cpuModel: 'test', pricePerTaskWei: '0', addrs: provider.getMultiaddrs().map(String) }, 60_000)
    const proposal: AgreementProposalBody = {
      agreementId: 'j.1', jobId: 'j', chainId: 31337, requester: requesterKey.address, provider: providerKey.address,
      specHash: `0x${'00'.repeat(32)}`, runtime: 'wasi', limits: { memoryBytes: 1 << 20, timeoutMs: 1000, outputBytes: 1 << 20 },
      maxInFlight: 4, pricePerTaskWei: '0', escrow: null, expiresAt: Date.now() + 60_000,
    }
    const openLink = libp2pLinks(requester, requesterKey, 31337, { allowPrivate: true, addrsOf: () => [] })
    const handlers = { onStarted () {}, onResults () {}, outstanding: () => [], onLost () {}, onMoved () {}, onClosed () {} }
    await assert.rejects(openLink(offer, proposal, handlers, AbortSignal.timeout(500)), { name: 'TimeoutError' })
    assert.equal(streams.length, 1, 'the proposal reached the provider')
    await waitFor(() => streams[0]!.status !== 'open', 5_000, 'the provider\'s end of the stream to close')
    assert.equal(requester.getConnections(provider.peerId).length, 1, 'the connection stays for the next proposal')
  })
})
