// The node API at its boundary: no token, bad bodies, bad ids and bad CIDs get clear typed errors,
// nothing is stored, and the node keeps serving.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import WebSocket from 'ws'
import { escrowDeployment } from '../src/ledger/index.ts'
import { defaultNodeConfig, startNode } from '../src/node/index.ts'
import { tempDir, waitFor } from './helpers.ts'

const dataDir = await tempDir('api')
const node = await startNode({ ...defaultNodeConfig(), dataDir, devnet: true }, 'test')
const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
const { port } = new URL(node.api.url)
test.after(async () => {
  await node.stop()
  await rm(dataDir, { recursive: true, force: true })
})

async function call (method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}) {
  const response = await fetch(`${node.api.url}${path}`, { method, body, headers: { authorization: `Bearer ${token}`, ...headers } })
  const text = await response.text()
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) }
}

/**
 * A request with exactly these headers (fetch would drop Upgrade, Connection and Host). A WebSocket
 * handshake the node accepts answers 101, and its socket is closed at once.
 */
function rawRequest (method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number, code: string | undefined }>((resolve, reject) => {
    const request = httpRequest(`${node.api.url}${path}`, { method, headers, agent: false })
    request.on('response', response => {
      let text = ''
      response.on('data', chunk => { text += chunk })
      response.on('end', () => resolve({ status: response.statusCode!, code: text.startsWith('{') ? JSON.parse(text).error?.code : undefined }))
    })
    request.on('upgrade', (response, socket) => {
      socket.destroy()
      resolve({ status: response.statusCode!, code: undefined })
    })
    request.on('error', reject)
    request.end(body)
  })
}

const upgrades: Record<string, Record<string, string>> = {
  plain: {},
  'Upgrade: websocket': { upgrade: 'websocket' },
  'Connection: Upgrade': { connection: 'Upgrade' },
  'a WebSocket handshake': { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
}
/** Each route's path with its parameters filled in; they are never looked at when the token is wrong. */
const guardedPaths = (accesses: string[]) => [...new Set(node.api.routes.filter(route => accesses.includes(route.access)).map(route => route.url.replace(/:(\w+)/g, (_, name: string) => ({ id: '0123456789abcdef', peerId: node.key.peerId.toString() })[name] ?? 'x')))]

test('the API listens on loopback only and refuses requests without the right token', async () => {
  assert.match(node.api.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  for (const authorization of [undefined, 'Bearer wrong', `Bearer ${token}x`, token]) {
    const response = await fetch(`${node.api.url}/v1/node`, { headers: authorization === undefined ? {} : { authorization } })
    assert.equal(response.status, 401)
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'unauthorised')
  }
  // Refused before the handshake: the client sees the 401, and no half-open socket is left behind.
  const refusal = await new Promise<number>((resolve, reject) => {
    const socket = new WebSocket(`${node.api.url.replace('http', 'ws')}/v1/events?token=nope`)
    socket.on('unexpected-response', (_request, response) => resolve(response.statusCode!))
    socket.on('open', () => reject(new Error('the WebSocket opened with a wrong token')))
  })
  assert.equal(refusal, 401)
})

test('every route but the pages answers 401 without the right token, whatever Upgrade or Connection headers come with it', async () => {
  const paths = guardedPaths(['admin', 'provide'])
  assert.ok(paths.includes('/v1/jobs') && paths.includes('/v1/events') && paths.includes('/v1/wallet'), 'the routes come from the API itself')
  const jobsBefore = (await call('GET', '/v1/jobs')).json.jobs.length
  const module = await call('POST', '/v1/content', new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), { 'content-type': 'application/octet-stream' })
  const paidJob = JSON.stringify({ runtime: 'wasi', module: module.json.cid, range: { count: 1 }, price: '1', waitForProvidersMs: 100 })
  const answered: string[] = []
  const credentials: Record<string, { header?: string, query?: string }> = {
    'no token': {},
    'a wrong token': { header: 'Bearer wrong' },
    'a token one character longer': { header: `Bearer ${token}x` },
    'a wrong ?token=': { query: 'wrong' },
  }
  for (const path of [...paths, '/v1/no-such-route']) {
    for (const method of ['GET', 'POST']) {
      for (const [credential, { header, query }] of Object.entries(credentials)) {
        for (const [upgrade, headers] of Object.entries(upgrades)) {
          const answer = await rawRequest(method, `${path}${query === undefined ? '' : `?token=${query}`}`, {
            ...headers, ...(header === undefined ? {} : { authorization: header }), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
          }, method === 'POST' ? paidJob : undefined)
          if (answer.status !== 401 || answer.code !== 'unauthorised') answered.push(`${method} ${path} with ${credential}, ${upgrade}: ${answer.status}`)
        }
      }
    }
  }
  // ?token= is for the events WebSocket only: the right token there reaches nothing else.
  for (const path of paths.filter(path => path !== '/v1/events')) {
    for (const [upgrade, headers] of Object.entries(upgrades)) {
      const { status } = await rawRequest('GET', `${path}?token=${token}`, headers)
      if (status !== 401) answered.push(`GET ${path} with the token as ?token=, ${upgrade}: ${status}`)
    }
  }
  assert.deepEqual(answered, [], 'every one of these is refused')
  assert.equal((await rawRequest('GET', `/v1/events?token=${token}`, upgrades['a WebSocket handshake']!)).status, 101, 'the events WebSocket takes the right ?token=')
  assert.equal((await call('GET', '/v1/jobs')).json.jobs.length, jobsBefore, 'no job was created')
})

test('the provide link\'s token reaches the WebSocket address a tab joins through, and nothing else', async () => {
  const provideToken = (await readFile(join(dataDir, 'provide-token'), 'utf8')).trim()
  assert.notEqual(provideToken, token)
  const asTab = { authorization: `Bearer ${provideToken}` }
  const joinInfo = await (await fetch(`${node.api.url}/v1/provide`, { headers: asTab })).json() as { peerId: string, chainId: number, multiaddrs: string[] }
  assert.equal(joinInfo.peerId, node.key.peerId.toString())
  assert.ok(joinInfo.multiaddrs.length > 0 && joinInfo.multiaddrs.every(addr => addr.includes('/ws/')), 'WebSocket addresses only')
  assert.equal((await call('GET', '/v1/provide/token')).json.token, provideToken, 'the dashboard reads it with the API token')
  const jobsBefore = (await call('GET', '/v1/jobs')).json.jobs
  const job = JSON.stringify({ runtime: 'wasi', module: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', range: { count: 1 } })
  for (const path of guardedPaths(['admin'])) {
    for (const method of ['GET', 'POST']) {
      const answer = await rawRequest(method, path, { ...asTab, 'content-type': 'application/json' }, method === 'POST' ? job : undefined)
      assert.equal(answer.status, 401, `${method} ${path} with the provide token`)
    }
  }
  for (const [what, method, path] of [['list jobs', 'GET', '/v1/jobs'], ['create a job', 'POST', '/v1/jobs'], ['read the wallet', 'GET', '/v1/wallet'], ['read its own token', 'GET', '/v1/provide/token']]) {
    const response = await fetch(`${node.api.url}${path}`, { method, headers: { ...asTab, 'content-type': 'application/json' }, body: method === 'POST' ? job : undefined })
    assert.equal(response.status, 401, `the provide token cannot ${what}`)
  }
  assert.equal((await rawRequest('GET', `/v1/events?token=${provideToken}`, upgrades['a WebSocket handshake']!)).status, 401, 'nor open the events socket')
  assert.deepEqual((await call('GET', '/v1/jobs')).json.jobs, jobsBefore, 'no job was created')
})

test('a tab reads conun\'s contracts through the node with the provide token, and nothing else of the chain', async () => {
  const provideToken = (await readFile(join(dataDir, 'provide-token'), 'utf8')).trim()
  const rpc = async (body: unknown, authorization = `Bearer ${provideToken}`) => {
    const response = await fetch(`${node.api.url}/v1/provide/chain`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: response.status, json: await response.json() as { id?: unknown, result?: string, error?: { message?: string, code?: string | number } } }
  }
  const { chain } = await (await fetch(`${node.api.url}/v1/provide`, { headers: { authorization: `Bearer ${provideToken}` } })).json() as { chain: { token: string, escrow: string } }
  assert.deepEqual(chain, { token: node.ledger.info.token, escrow: node.ledger.info.escrow, deploymentBlock: String(node.ledger.info.deploymentBlock), deployment: await escrowDeployment(node.ledger), confirmations: node.ledger.confirmations })

  assert.deepEqual((await rpc({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' })).json, { jsonrpc: '2.0', id: 1, result: `0x${node.ledger.info.chainId.toString(16)}` })
  assert.match((await rpc({ jsonrpc: '2.0', id: 'head', method: 'eth_blockNumber', params: [] })).json.result ?? '', /^0x[0-9a-f]+$/)
  // balanceOf(node's address) on the token: the same figure the chain client reads.
  const data = `0x70a08231${node.key.address.slice(2).toLowerCase().padStart(64, '0')}`
  const balance = await rpc({ jsonrpc: '2.0', id: 2, method: 'eth_call', params: [{ to: chain.token, data }, 'latest'] })
  assert.equal(BigInt(balance.json.result ?? 'x'), (await node.ledger.public.readContract({ address: chain.token as `0x${string}`, abi: [{ type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ type: 'address' }], outputs: [{ type: 'uint256' }] }], functionName: 'balanceOf', args: [node.key.address] })))

  const other = await rpc({ jsonrpc: '2.0', id: 3, method: 'eth_call', params: [{ to: node.key.address, data: '0x' }] })
  assert.equal(other.status, 403, 'another contract is refused')
  assert.match(other.json.error?.message ?? '', /token and escrow/)
  for (const refused of [
    { jsonrpc: '2.0', id: 4, method: 'eth_sendRawTransaction', params: ['0x00'] },
    { jsonrpc: '2.0', id: 5, method: 'eth_accounts', params: [] },
    { jsonrpc: '2.0', id: 5, method: 'eth_newFilter', params: [{ address: chain.escrow }] },
    { jsonrpc: '2.0', id: 5, method: 'eth_getLogs', params: [{ address: chain.escrow, fromBlock: 'earliest', toBlock: 'latest' }] },
    { jsonrpc: '2.0', id: 5, method: 'eth_getLogs', params: [{ address: chain.escrow, fromBlock: '0x0', toBlock: '0x10' }] },
    { jsonrpc: '2.0', id: 6, method: 'eth_call', params: [{ to: chain.token, data: '0x', from: node.key.address }] },
    { jsonrpc: '2.0', id: 7, method: 'eth_call', params: [{ to: chain.token, data: `0x${'00'.repeat(5_000)}` }] },
    'not json-rpc',
  ]) {
    const answer = await rpc(refused)
    assert.equal(answer.status, 400, `${JSON.stringify(refused).slice(0, 80)} is refused`)
    assert.equal(answer.json.error?.code, 'invalid-request')
  }
  assert.equal((await rpc({ jsonrpc: '2.0', id: 8, method: 'eth_call', params: [{ to: chain.token, data: `0x${'00'.repeat(20_000)}` }] })).status, 413, 'a body over 16 KiB')
  assert.equal((await rpc({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }, 'Bearer wrong')).status, 401)
})

test('a request whose Host is not the API\'s own name gets 403, even with the token (DNS rebinding)', async () => {
  const withToken = { authorization: `Bearer ${token}` }
  for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost.:${port}`, `127.0.0.1:${Number(port) + 1}`, '127.0.0.1', `10.0.0.1:${port}`, `[::2]:${port}`, `127.0.0.1:${port}/x`, `user@127.0.0.1:${port}`]) {
    for (const path of ['/v1/node', '/', `/v1/events?token=${token}`]) {
      for (const [upgrade, headers] of Object.entries(upgrades)) {
        assert.deepEqual(await rawRequest('GET', path, { ...withToken, ...headers, host }), { status: 403, code: 'host-not-allowed' }, `Host ${host}, ${path}, ${upgrade}`)
      }
    }
  }
  // HTTP/1.0 needs no Host: without one, nothing is served either.
  const noHost = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(`GET /v1/node HTTP/1.0\r\nAuthorization: Bearer ${token}\r\n\r\n`))
    let text = ''
    socket.on('data', chunk => { text += chunk })
    socket.on('end', () => resolve(text))
    socket.on('error', reject)
  })
  assert.match(noHost, /^HTTP\/1\.[01] 403 /)
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`]) {
    assert.equal((await rawRequest('GET', '/v1/node', { ...withToken, host })).status, 200, `Host ${host}`)
  }
})

test('bad job submissions are refused with every problem listed, and nothing is stored', async () => {
  const jobsBefore = (await call('GET', '/v1/jobs')).json.jobs
  const notJson = await call('POST', '/v1/jobs', '{ nope', { 'content-type': 'application/json' })
  assert.equal(notJson.status, 400)
  const invalid = await call('POST', '/v1/jobs', JSON.stringify({ runtime: 'wasi', module: 'x', range: { count: 0 }, limits: { timeoutMs: 'soon' } }), { 'content-type': 'application/json' })
  assert.equal(invalid.status, 400)
  assert.equal(invalid.json.error.code, 'invalid-spec')
  assert.ok(invalid.json.error.issues.some((issue: string) => issue.startsWith('range.count')))
  assert.ok(invalid.json.error.issues.some((issue: string) => issue.startsWith('limits.timeoutMs')))
  const unknownModule = await call('POST', '/v1/jobs', JSON.stringify({ runtime: 'wasi', module: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', range: { count: 1 } }), { 'content-type': 'application/json' })
  assert.equal(unknownModule.status, 404)
  assert.equal(unknownModule.json.error.code, 'content-not-found')
  const badCid = await call('POST', '/v1/jobs', JSON.stringify({ runtime: 'wasi', module: 'not-a-cid', range: { count: 1 } }), { 'content-type': 'application/json' })
  assert.equal(badCid.status, 400)
  assert.equal(badCid.json.error.code, 'invalid-cid')
  assert.deepEqual((await call('GET', '/v1/jobs')).json.jobs, jobsBefore)
})

test('ids, CIDs and uploads are checked', async () => {
  assert.equal((await call('GET', '/v1/jobs/../../etc')).status, 404)
  const badId = await call('GET', '/v1/jobs/xyz')
  assert.equal(badId.status, 400)
  assert.equal(badId.json.error.code, 'invalid-request')
  assert.equal((await call('GET', '/v1/jobs/0123456789abcdef')).json.error.code, 'unknown-job')
  assert.equal((await call('GET', '/v1/content/zzz')).json.error.code, 'invalid-cid')
  assert.equal((await call('POST', '/v1/content', 'text', { 'content-type': 'text/plain' })).status, 415)
  const upload = await call('POST', '/v1/content', new Uint8Array([1, 2, 3]), { 'content-type': 'application/octet-stream' })
  assert.equal(upload.status, 201)
  assert.equal(upload.json.size, 3)
  const download = await fetch(`${node.api.url}/v1/content/${upload.json.cid}`, { headers: { authorization: `Bearer ${token}` } })
  assert.deepEqual(new Uint8Array(await download.arrayBuffer()), new Uint8Array([1, 2, 3]))
})

test('a burst of random bodies on every route changes nothing and the node keeps serving', async () => {
  const jobsBefore = (await call('GET', '/v1/jobs')).json.jobs
  const routes = ['/v1/jobs', '/v1/content', '/v1/jobs/0123456789abcdef/cancel', '/v1/node', '/v1/peers']
  for (let i = 0; i < 200; i++) {
    const route = routes[i % routes.length]!
    const body = crypto.getRandomValues(new Uint8Array(i % 50))
    const type = ['application/json', 'application/octet-stream', 'text/plain'][i % 3]!
    const { status } = await call(i % 2 === 0 ? 'POST' : 'GET', route, i % 2 === 0 ? body : undefined, i % 2 === 0 ? { 'content-type': type } : {})
    assert.ok(status < 500, `${route} answered ${status}`)
  }
  assert.deepEqual((await call('GET', '/v1/jobs')).json.jobs, jobsBefore)
  assert.equal((await call('GET', '/v1/node')).json.peerId, node.key.peerId.toString())
})

test('a job no provider takes ends failed after waitForProvidersMs, saying why, instead of hanging', async () => {
  const upload = await call('POST', '/v1/content', new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), { 'content-type': 'application/octet-stream' })
  const submitted = await call('POST', '/v1/jobs', JSON.stringify({ runtime: 'wasi', module: upload.json.cid, range: { count: 3 }, waitForProvidersMs: 300 }), { 'content-type': 'application/json' })
  assert.equal(submitted.status, 201)
  const id = submitted.json.job.id as string
  await waitFor(async () => (await call('GET', `/v1/jobs/${id}`)).json.job.state !== 'running', 10_000, 'the job to end')
  const results = (await call('GET', `/v1/jobs/${id}/results`)).json
  assert.equal(results.job.state, 'failed')
  assert.deepEqual(results.tasks.map((task: { state: string, reason: string }) => [task.state, task.reason]), [['failed', 'no-provider'], ['failed', 'no-provider'], ['failed', 'no-provider']])
})

test('a job\'s results come whole (written a page at a time), by index range, or as the tasks that ended', async () => {
  const upload = await call('POST', '/v1/content', new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), { 'content-type': 'application/octet-stream' })
  // More tasks than the route writes in one page, so the whole answer is written in three.
  const submitted = await call('POST', '/v1/jobs', JSON.stringify({ runtime: 'wasi', module: upload.json.cid, range: { count: 2500, args: ['--n={i}'] }, waitForProvidersMs: 300 }), { 'content-type': 'application/json' })
  const id = submitted.json.job.id as string
  await waitFor(async () => (await call('GET', `/v1/jobs/${id}`)).json.job.state !== 'running', 30_000, 'the job to end')
  const whole = await call('GET', `/v1/jobs/${id}/results`)
  assert.equal(whole.status, 200)
  assert.equal(whole.json.job.id, id)
  assert.deepEqual(whole.json.tasks.map((task: { idx: number }) => task.idx), Array.from({ length: 2500 }, (_, i) => i))
  assert.deepEqual(whole.json.tasks[2499].args, ['--n=2499'])
  assert.equal(whole.json.next, 2500, 'every task ended before the answer: a follower starts after the last')
  const range = (await call('GET', `/v1/jobs/${id}/results?from=999&limit=3`)).json
  assert.deepEqual(range.tasks.map((task: { idx: number, args: string[], state: string }) => [task.idx, task.args, task.state]), [[999, ['--n=999'], 'failed'], [1000, ['--n=1000'], 'failed'], [1001, ['--n=1001'], 'failed']])
  assert.equal(range.next, 2500)
  assert.deepEqual((await call('GET', `/v1/jobs/${id}/results?from=2499&limit=10`)).json.tasks.map((task: { idx: number }) => task.idx), [2499])
  const ended = (await call('GET', `/v1/jobs/${id}/results?after=2498`)).json
  assert.deepEqual(ended.tasks.map((task: { seq: number }) => task.seq), [2499, 2500])
  const both = await call('GET', `/v1/jobs/${id}/results?from=0&after=0`)
  assert.equal(both.status, 400)
  assert.match(JSON.stringify(both.json.error), /either after .* or from/)
  const unknown = await call('GET', '/v1/jobs/0123456789abcdef/results')
  assert.equal(unknown.json.error.code, 'unknown-job', 'an unknown job is refused before anything is written')
})

test('the browser pages are served without the token; their assets only by their bundle names', async () => {
  for (const path of ['/', '/provide']) {
    const page = await fetch(`${node.api.url}${path}`)
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
    const html = await page.text()
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    assert.ok(script !== undefined, `${path} loads its bundle`)
    const asset = await fetch(`${node.api.url}${script}`)
    assert.equal(asset.status, 200)
    assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/)
  }
  for (const path of ['/assets/..%2Fsources.json', '/assets/.hidden.js', '/assets/missing-abc.js']) {
    assert.ok([400, 404].includes((await fetch(`${node.api.url}${path}`)).status), path)
  }
  assert.equal((await fetch(`${node.api.url}/sources.json`)).status, 401, 'anything else needs the token')
  assert.equal((await fetch(`${node.api.url}/v1/jobs`)).status, 401)
})
