// `node bench/providerHosts.ts --count M --root DIR --rpc URL --token ADDR --escrow ADDR --bootstrap MULTIADDR`:
// M real provider nodes in this one OS process (issue 16's many-providers benchmark), each started by
// startNode as `conun node start --provide` would: its own key and data dir, its own libp2p host on a
// TCP socket on loopback, its offer published, its provider agent running WASI tasks on one core.
// What is left out to fit hundreds on one machine: WebSocket listeners and Docker/WebGPU probing.
// Prints `{"event":"ready","peerIds":[...]}` once all are up, and on SIGUSR2 `{"event":"gossip","messages":N}`:
// the gossip messages its nodes have received so far (the bench's idle traffic per provider).
// SIGTERM stops them all.
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEVNET_PASSPHRASE, loadNodeConfig, startNode } from '../src/node/index.ts'
import type { ConunNode } from '../src/node/index.ts'

const { values } = parseArgs({ options: { count: { type: 'string' }, root: { type: 'string' }, rpc: { type: 'string' }, token: { type: 'string' }, escrow: { type: 'string' }, bootstrap: { type: 'string' } } })
const count = Number(values.count)
if (!Number.isInteger(count) || count < 1 || values.root === undefined || values.bootstrap === undefined) throw new Error('usage: providerHosts.ts --count M --root DIR --rpc URL --token ADDR --escrow ADDR --bootstrap MULTIADDR')

const nodes: ConunNode[] = []
let gossipMessages = 0
const countGossip = () => { gossipMessages++ }
process.on('SIGUSR2', () => console.log(JSON.stringify({ event: 'gossip', messages: gossipMessages })))
let stopping = false
const stopAll = async () => {
  if (stopping) return
  stopping = true
  await Promise.allSettled(nodes.map(async node => node.stop()))
  process.exit(0)
}
process.on('SIGTERM', () => { void stopAll() })
process.on('SIGINT', () => { void stopAll() })
// A node serves many peers: one stray failure is logged, it must not take the other nodes down.
process.on('unhandledRejection', error => console.error('unhandled rejection:', error))

for (let i = 0; i < count && !stopping; i++) {
  const config = await loadNodeConfig({
    dataDir: join(values.root, `host-${i}`),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [values.bootstrap],
    devnet: true,
    provide: true,
    provider: { cores: 1, runtimes: ['wasi'], pricePerTaskWei: '0' },
    chain: { rpcUrl: values.rpc, token: values.token, escrow: values.escrow },
  }, async () => undefined)
  const node = await startNode(config, DEVNET_PASSPHRASE)
  node.host.services.pubsub.addEventListener('message', countGossip)
  nodes.push(node)
}
console.log(JSON.stringify({ event: 'ready', peerIds: nodes.map(node => node.key.peerId.toString()) }))
