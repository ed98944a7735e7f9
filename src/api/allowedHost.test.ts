import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isAllowedHost } from './allowedHost.ts'

const allowed = (host: string, hosts: string[]) => hosts.filter(header => isAllowedHost(header, { host, port: 4000 }))

test('on loopback, the loopback names with the port are the API; any other name or port is not', () => {
  const headers = ['127.0.0.1:4000', 'localhost:4000', '[::1]:4000', 'LOCALHOST:4000', '127.0.0.1:4001', '127.0.0.1', 'evil.example:4000', 'localhost.evil.example:4000', '10.0.0.1:4000', '[::]:4000', '']
  const loopback = ['127.0.0.1:4000', 'localhost:4000', '[::1]:4000', 'LOCALHOST:4000']
  for (const host of ['127.0.0.1', 'localhost', '::1']) assert.deepEqual(allowed(host, headers), loopback, host)
  assert.equal(isAllowedHost(undefined, { host: '127.0.0.1', port: 4000 }), false, 'no Host at all')
  assert.equal(isAllowedHost('localhost', { host: '127.0.0.1', port: 80 }), true, 'no port means 80')
})

test('on one address, only that address is the API', () => {
  const headers = ['192.168.1.5:4000', 'localhost:4000', '127.0.0.1:4000', '192.168.1.6:4000', 'nas.lan:4000', '[fe80::1]:4000']
  assert.deepEqual(allowed('192.168.1.5', headers), ['192.168.1.5:4000'])
  assert.deepEqual(allowed('fe80::1', headers), ['[fe80::1]:4000'])
  assert.deepEqual(allowed('nas.lan', headers), ['nas.lan:4000'])
})

test('on a wildcard address, any IP literal and localhost are the API, but no other name (DNS rebinding)', () => {
  const headers = ['192.168.1.5:4000', '[fe80::1]:4000', 'localhost:4000', '0.0.0.0:4000', 'evil.example:4000', '1.2.3.4.evil.example:4000', '192.168.1.5:4001', '192.168.1.5:4000/x', 'a@192.168.1.5:4000']
  const expected = ['192.168.1.5:4000', '[fe80::1]:4000', 'localhost:4000', '0.0.0.0:4000']
  for (const host of ['0.0.0.0', '::']) assert.deepEqual(allowed(host, headers), expected, host)
})
