import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { networkInterfaces } from 'node:os'
import { defaultNodeConfig } from './config.ts'
import { planNetwork } from './networkPlan.ts'
import type { NodeConfig } from './config.ts'

const PUBLIC_BOOTSTRAP = '/ip4/7.7.0.10/tcp/4001/p2p/12D3KooWHqHToxMDHU4BbccjQ1nfFQZcqs4aTfXmGfVUFohud2Xv'
const interfaces: ReturnType<typeof networkInterfaces> = {
  lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
  eth0: [{ address: '7.7.0.10', netmask: '255.255.0.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '7.7.0.10/16' }],
}

const config = (overrides: Partial<NodeConfig>): NodeConfig => ({ ...defaultNodeConfig(), ...overrides })

describe('network plan', () => {
  it('a local grid: LAN mode, relays for its tabs, holds no relay slot, serves no STUN, does not hole-punch', () => {
    const plan = planNetwork(config({ bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWHqHToxMDHU4BbccjQ1nfFQZcqs4aTfXmGfVUFohud2Xv'] }), interfaces)
    assert.equal(plan.mode, 'lan')
    assert.equal(plan.relayReservations, 0)
    assert.notEqual(plan.relayService, undefined)
    assert.deepEqual(plan.stunListen, [])
    assert.equal(plan.holePunching, false)
  })

  it('a home machine joining a public node: internet mode, relay slots, hole punching, no relay service, STUN from the bootstrap node', () => {
    const plan = planNetwork(config({ listen: ['/ip4/10.77.1.2/tcp/0'], bootstrap: [PUBLIC_BOOTSTRAP] }), interfaces)
    assert.equal(plan.mode, 'internet')
    assert.equal(plan.relayReservations, 2)
    assert.equal(plan.holePunching, true)
    assert.equal(plan.relayService, undefined)
    assert.deepEqual(plan.stunServers, ['7.7.0.10:4001'])
  })

  it('a public server listening on every interface: relays, answers STUN on its TCP port, holds no slot, hole-punches to NAT\'d peers', () => {
    const plan = planNetwork(config({ listen: ['/ip4/0.0.0.0/tcp/4001'] }), interfaces)
    assert.equal(plan.mode, 'internet')
    assert.deepEqual(plan.publicAddrs, ['/ip4/7.7.0.10/tcp/4001'])
    assert.equal(plan.relayReservations, 0)
    assert.deepEqual(plan.stunListen, [{ host: '7.7.0.10', port: 4001 }])
    assert.equal(plan.holePunching, true)
  })

  it('a forwarded port (announce) counts as public; flags override auto', () => {
    const defaults = defaultNodeConfig()
    const forwarded = planNetwork(config({ listen: ['/ip4/10.77.1.2/tcp/4001'], bootstrap: [PUBLIC_BOOTSTRAP], network: { ...defaults.network, announce: ['/ip4/7.7.0.21/tcp/4001'] } }), interfaces)
    assert.equal(forwarded.relayReservations, 0)
    const optedOut = planNetwork(config({ listen: ['/ip4/0.0.0.0/tcp/4001'], network: { ...defaults.network, relay: 'off' } }), interfaces)
    assert.equal(optedOut.relayService, undefined)
    assert.deepEqual(optedOut.stunListen, [])
    assert.equal(planNetwork(config({ allowPrivateAddresses: true, listen: ['/ip4/0.0.0.0/tcp/4001'] }), interfaces).mode, 'lan')
  })
})
