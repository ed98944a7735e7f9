import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { reachabilityOf } from './reachability.ts'

const RELAY = '12D3KooWHqHToxMDHU4BbccjQ1nfFQZcqs4aTfXmGfVUFohud2Xv'
const SELF = '16Uiu2HAmGHhYdG9LKMwCnmu7hKQMjQrqnVkHrWLBMv5ZyWwJSNr4'

describe('reachability', () => {
  it('is public with a confirmed public address', () => {
    const r = reachabilityOf(['/ip4/7.7.0.10/tcp/4001', '/ip4/127.0.0.1/tcp/4001'], 'internet', true)
    assert.equal(r.status, 'public')
    assert.deepEqual(r.addresses, ['/ip4/7.7.0.10/tcp/4001'])
  })

  it('is private behind a NAT, naming the relays it holds slots on (the /webrtc twin is not a second relay)', () => {
    const circuit = `/ip4/7.7.0.10/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${SELF}`
    const r = reachabilityOf(['/ip4/10.77.1.2/tcp/4001', circuit, `/ip4/7.7.0.10/tcp/4001/p2p/${RELAY}/p2p-circuit/webrtc/p2p/${SELF}`], 'internet', false)
    assert.equal(r.status, 'private')
    assert.deepEqual(r.addresses, [])
    assert.deepEqual(r.relays, [{ peerId: RELAY, address: circuit }])
  })

  it('is private behind a NAT before it has a relay slot', () => {
    assert.equal(reachabilityOf(['/ip4/10.77.1.2/tcp/4001'], 'internet', false).status, 'private')
  })

  it('is unknown while its public address awaits confirmation', () => {
    assert.equal(reachabilityOf(['/ip4/10.0.0.2/tcp/4001'], 'internet', true).status, 'unknown')
  })

  it('is private on a LAN grid, where its LAN addresses are the ones to dial', () => {
    const r = reachabilityOf(['/ip4/127.0.0.1/tcp/4001', 'not a multiaddr'], 'lan', false)
    assert.equal(r.status, 'private')
    assert.deepEqual(r.addresses, ['/ip4/127.0.0.1/tcp/4001'])
  })
})
