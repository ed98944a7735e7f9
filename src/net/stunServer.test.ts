import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { bindingResponse, startStunServer } from './stunServer.ts'

/** RFC 5769's sample transaction id (§2.1–2.3). */
const TRANSACTION_ID = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex')

function request (transactionId = TRANSACTION_ID, attributes = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(20)
  header.writeUInt16BE(0x0001, 0)
  header.writeUInt16BE(attributes.length, 2)
  header.writeUInt32BE(0x2112a442, 4)
  transactionId.copy(header, 8)
  return Buffer.concat([header, attributes])
}

describe('STUN binding responder', () => {
  it('encodes XOR-MAPPED-ADDRESS exactly as RFC 5769’s IPv4 and IPv6 test vectors', () => {
    const v4 = bindingResponse(request(), '192.0.2.1', 32853)!
    assert.equal(v4.readUInt16BE(0), 0x0101)
    assert.deepEqual(v4.subarray(8, 20), TRANSACTION_ID)
    assert.equal(v4.subarray(20).toString('hex'), '0020000800' + '01a147e112a643')
    const v6 = bindingResponse(request(), '2001:db8:1234:5678:11:2233:4455:6677', 32853)!
    assert.equal(v6.subarray(20).toString('hex'), '002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9')
    // An IPv4 asker on a dual-stack socket is reported as IPv4.
    assert.deepEqual(bindingResponse(request(), '::ffff:192.0.2.1', 32853), v4)
  })

  it('ignores anything that is not a well-formed binding request', () => {
    const good = request()
    const cases: Buffer[] = [
      Buffer.alloc(0),
      good.subarray(0, 19),
      Buffer.concat([good, Buffer.alloc(4)]), // length field disagrees with the size
      Buffer.from(good).fill(0xff, 0, 1), // top bits set: not STUN
      (() => { const b = Buffer.from(good); b.writeUInt16BE(0x0101, 0); return b })(), // a response, not a request
      (() => { const b = Buffer.from(good); b.writeUInt32BE(0, 4); return b })(), // no magic cookie (RFC 3489)
      request(TRANSACTION_ID, Buffer.alloc(1000)), // oversized
    ]
    for (const bytes of cases) assert.equal(bindingResponse(bytes, '192.0.2.1', 1), undefined)
    assert.equal(bindingResponse(good, 'not-an-ip', 1), undefined)
  })

  it('answers over real UDP with the asker’s own address and port', async () => {
    const server = await startStunServer('127.0.0.1', 0)
    const client = createSocket('udp4')
    try {
      await new Promise<void>(resolve => client.bind(0, '127.0.0.1', resolve))
      const answer = new Promise<Buffer>(resolve => client.once('message', resolve))
      client.send(Buffer.from('garbage'), server.port, '127.0.0.1')
      client.send(request(), server.port, '127.0.0.1')
      const response = await answer
      const port = response.readUInt16BE(26) ^ 0x2112
      const ip = [...response.subarray(28, 32)].map((byte, i) => byte ^ [0x21, 0x12, 0xa4, 0x42][i]!).join('.')
      assert.equal(`${ip}:${port}`, `127.0.0.1:${client.address().port}`)
    } finally {
      client.close()
      await server.close()
    }
  })
})
