import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BaseError, createPublicClient, HttpRequestError, RpcRequestError, TimeoutError } from 'viem'
import { rpcTransport } from './rpcTransport.ts'

interface Seen { body: { jsonrpc: string, id: number, method: string, params?: unknown }, authorization: string | undefined }

/** A JSON-RPC endpoint on loopback that answers with `answer`; what it was sent is kept in `seen`. */
async function endpoint (t: { after: (fn: () => unknown) => void }, answer: (seen: Seen, res: ServerResponse) => void): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer((req: IncomingMessage, res) => {
    let text = ''
    req.on('data', (chunk: Buffer) => { text += chunk.toString() })
    req.on('end', () => {
      const entry = { body: JSON.parse(text) as Seen['body'], authorization: req.headers.authorization }
      seen.push(entry)
      answer(entry, res)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise(resolve => { server.closeAllConnections(); server.close(resolve) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`, seen }
}

const json = (res: ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(value))
}
const client = (url: string, retryCount = 0, timeoutMs = 5_000) => createPublicClient({ transport: rpcTransport(url, { retryCount, timeoutMs }) })

test('a request is one JSON-RPC 2.0 POST and its result comes back through viem', async (t) => {
  const { url, seen } = await endpoint(t, ({ body }, res) => json(res, 200, { jsonrpc: '2.0', id: body.id, result: '0x2a' }))
  assert.equal(await client(url).getBlockNumber({ cacheTime: 0 }), 42n)
  assert.equal(seen.length, 1)
  assert.deepEqual({ jsonrpc: seen[0]!.body.jsonrpc, method: seen[0]!.body.method }, { jsonrpc: '2.0', method: 'eth_blockNumber' })
  assert.equal(seen[0]!.authorization, undefined)
})

test('a JSON-RPC error is viem\'s RpcRequestError with its code and data, as over viem\'s http transport', async (t) => {
  const { url } = await endpoint(t, ({ body }, res) => json(res, 200, { jsonrpc: '2.0', id: body.id, error: { code: 3, message: 'execution reverted', data: '0x08c379a0' } }))
  const error = await client(url).request({ method: 'eth_call', params: [{ to: `0x${'1'.repeat(40)}` }, 'latest'] } as never).then(() => undefined, (err: unknown) => err)
  assert.ok(error instanceof BaseError, `got ${String(error)}`)
  const cause = error.walk(e => e instanceof RpcRequestError)
  assert.ok(cause instanceof RpcRequestError, `got ${String(error)}`)
  assert.equal(cause.code, 3)
  assert.equal((cause as RpcRequestError & { data?: unknown }).data, '0x08c379a0')
})

test('a server error is an HttpRequestError with its status, tried again retryCount times', async (t) => {
  const { url, seen } = await endpoint(t, (_seen, res) => { res.writeHead(503); res.end('overloaded') })
  await assert.rejects(client(url, 2).getBlockNumber({ cacheTime: 0 }), (error: BaseError) => {
    const cause = error.walk(e => e instanceof HttpRequestError) as HttpRequestError
    assert.equal(cause.status, 503)
    assert.match(cause.details, /overloaded/)
    return true
  })
  assert.equal(seen.length, 3, 'one request and two retries')
})

test('an endpoint that does not answer in time fails with viem\'s TimeoutError', async (t) => {
  const { url } = await endpoint(t, () => { /* never answers */ })
  await assert.rejects(client(url, 0, 200).getBlockNumber({ cacheTime: 0 }), (error: BaseError) => {
    assert.ok(error.walk(e => e instanceof TimeoutError) instanceof TimeoutError, `got ${String(error)}`)
    return true
  })
})

test('a response over 10 MB is refused, and a body that is not a JSON-RPC answer is an HttpRequestError', async (t) => {
  const huge = await endpoint(t, (_seen, res) => { res.writeHead(200); res.end(Buffer.alloc(11 * 1024 * 1024, 0x20)) })
  await assert.rejects(client(huge.url).getBlockNumber({ cacheTime: 0 }), /larger than 10485760 bytes/)
  for (const body of ['<html>not json</html>', 'null', '[1]', '{"error":"busy"}', '{"jsonrpc":"2.0","id":0}']) {
    const garbled = await endpoint(t, (_seen, res) => { res.writeHead(200); res.end(body) })
    await assert.rejects(client(garbled.url).getBlockNumber({ cacheTime: 0 }), (error: BaseError) => {
      assert.ok(error.walk(e => e instanceof HttpRequestError) instanceof HttpRequestError, `${body}: got ${String(error)}`)
      assert.match(error.message, /not a JSON-RPC answer|no result/, body)
      return true
    })
  }
})

test('credentials in the URL are sent as Basic auth and kept out of error messages; only http(s) URLs are taken', async (t) => {
  const { url, seen } = await endpoint(t, (_seen, res) => { res.writeHead(500); res.end() })
  const withCredentials = url.replace('http://', 'http://alice:s%40cret@')
  await assert.rejects(client(withCredentials).getBlockNumber({ cacheTime: 0 }), (error: Error) => {
    assert.doesNotMatch(String(error) + JSON.stringify(error, (_k, v: unknown) => typeof v === 'bigint' ? String(v) : v), /s%40cret|s@cret|alice/)
    return true
  })
  assert.equal(seen[0]!.authorization, `Basic ${Buffer.from('alice:s@cret').toString('base64')}`)
  assert.throws(() => rpcTransport('ws://127.0.0.1:8545', { retryCount: 0, timeoutMs: 1000 }), /http\(s\), got ws:/)
})
