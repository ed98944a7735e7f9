import { test } from 'node:test'
import assert from 'node:assert/strict'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { waitFor } from '../util/index.ts'
import { GOSSIP_OPTIONS } from './gossipOptions.ts'

const TOPIC = 'conun-test'

async function gossipHost () {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub(GOSSIP_OPTIONS) },
  })
}

test('a message first published before any peer subscribed goes out once one has', async () => {
  const [sender, receiver] = await Promise.all([gossipHost(), gossipHost()])
  try {
    const heard: string[] = []
    receiver.services.pubsub.addEventListener('message', event => { heard.push(new TextDecoder().decode(event.detail.data)) })
    receiver.services.pubsub.subscribe(TOPIC)
    sender.services.pubsub.subscribe(TOPIC)
    const offer = new TextEncoder().encode('the same offer')
    // Nobody to send it to yet (refused, as offerExchange expects, which tries again later).
    await sender.services.pubsub.publish(TOPIC, offer).catch(() => {})

    await sender.dial(receiver.getMultiaddrs())
    await waitFor(() => sender.services.pubsub.getSubscribers(TOPIC).length > 0, 10_000, 'the receiver\'s subscription')
    const { recipients } = await sender.services.pubsub.publish(TOPIC, offer)
    assert.equal(recipients.length, 1)
    await waitFor(() => heard.length > 0, 10_000, 'the offer at the receiver')
    assert.deepEqual(heard, ['the same offer'])
  } finally {
    await Promise.all([sender.stop(), receiver.stop()])
  }
})
