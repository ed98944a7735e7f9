import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isLoopback } from '../common/loopback.ts'
import { pickBootstrapAddress } from './bootstrapAddress.ts'

const LOOPBACK = '/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWRequester'
const LAN = '/ip4/192.168.1.20/tcp/4001/ws/p2p/12D3KooWRequester'
const LAN6 = '/ip6/fd00::20/tcp/4001/ws/p2p/12D3KooWRequester'
const DNS = '/dns4/grid.example.org/tcp/443/wss/p2p/12D3KooWRequester'

test('a page opened through the LAN address dials the node on that address, not its loopback one', () => {
  assert.equal(pickBootstrapAddress([LOOPBACK, LAN, LAN6], '192.168.1.20'), LAN)
  assert.equal(pickBootstrapAddress([LOOPBACK, LAN, LAN6], '[fd00::20]'), LAN6)
  assert.equal(pickBootstrapAddress([LOOPBACK, LAN, DNS], 'grid.example.org'), DNS)
})

test('a page opened under another name dials an address off loopback; on loopback, the first', () => {
  assert.equal(pickBootstrapAddress([LOOPBACK, LAN], 'conun.local'), LAN)
  assert.equal(pickBootstrapAddress([LOOPBACK, LAN], 'localhost'), LOOPBACK)
  assert.equal(pickBootstrapAddress([LOOPBACK, LAN], '127.0.0.1'), LOOPBACK)
})

test('a page that came over the network finds no address when the node listens on loopback only', () => {
  assert.equal(pickBootstrapAddress([LOOPBACK], '192.168.1.20'), undefined)
  assert.equal(pickBootstrapAddress([], '127.0.0.1'), undefined)
})

test('loopback names and addresses', () => {
  for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) assert.ok(isLoopback(host), host)
  for (const host of ['192.168.1.20', 'fd00::20', 'grid.example.org', '0.0.0.0']) assert.ok(!isLoopback(host), host)
})
