// Real libp2p hosts on loopback, configured as conun's nodes are.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import { generateNodeKey } from '../identity/index.ts'
import { hostOptions } from './hostOptions.ts'

const host = async (listen: string[]) => createLibp2p(await hostOptions({ privateKey: (await generateNodeKey()).privateKey, listen, bootstrap: [], allowPrivateAddresses: true }))

test('a node dials another over TCP but never over WebSockets, which are for browser tabs', async (t) => {
  const [dialler, target] = await Promise.all([host(['/ip4/127.0.0.1/tcp/0']), host(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'])])
  t.after(() => Promise.all([dialler.stop(), target.stop()]))
  const byTransport = (name: string) => target.getMultiaddrs().filter(addr => addr.getComponents().some(c => c.name === 'ws') === (name === 'ws'))
  assert.equal(byTransport('ws').length, 1, 'the target listens on WebSockets')
  await assert.rejects(dialler.dial(byTransport('ws')[0]!), { name: 'DialDeniedError' })
  assert.equal(dialler.getConnections(target.peerId).length, 0)
  const connection = await dialler.dial(byTransport('tcp')[0]!)
  assert.equal(connection.remoteAddr.getComponents().some(c => c.name === 'ws'), false)
  assert.equal(dialler.getConnections(target.peerId).length, 1)
})
