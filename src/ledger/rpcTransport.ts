/**
 * viem's `http` transport runs on fetch and Headers, which in Node are undici: their first use
 * loads and compiles all of it, about 15 MB of a process's RSS for good (2026-12-07, a bare Node
 * 24: 44 → 59 MB), a tenth of what a provider may hold (issue 16). A node only ever POSTs JSON-RPC
 * to one endpoint, which node:http does without it. This transport does that, and fails as viem's
 * own does (HttpRequestError, RpcRequestError, TimeoutError), so retries and the decoding of
 * contract reverts work as they did.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { custom, HttpRequestError, RpcRequestError, stringify, TimeoutError } from 'viem'
import { readBody } from '../util/index.ts'
import type { Transport } from 'viem'
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http'

/** viem's own limit on a response body. */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024

export interface RpcTransportOptions {
  /** How long one request may take, response body included. */
  readonly timeoutMs: number
  /** How often a failed request is tried again (viem's rules say which failures). */
  readonly retryCount: number
}

interface RpcBody { method: string, params?: unknown }

/** A viem transport that sends JSON-RPC requests to `url` (http or https) over Node's own HTTP client. */
export function rpcTransport (url: string, options: RpcTransportOptions): Transport {
  const endpoint = new URL(url)
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new TypeError(`an RPC URL is http(s), got ${endpoint.protocol}`)
  // Credentials in the URL (https://user:secret@host) become Basic auth, as fetch does; they stay out of error messages.
  const authorization = endpoint.username === '' ? undefined : `Basic ${Buffer.from(`${decodeURIComponent(endpoint.username)}:${decodeURIComponent(endpoint.password)}`).toString('base64')}`
  endpoint.username = ''
  endpoint.password = ''
  const shownUrl = endpoint.href
  const http = endpoint.protocol === 'https:' ? { send: httpsRequest, agent: new HttpsAgent({ keepAlive: true }) } : { send: httpRequest, agent: new HttpAgent({ keepAlive: true }) }
  let nextId = 0

  async function request (body: RpcBody): Promise<unknown> {
    const message = { jsonrpc: '2.0', id: nextId++, ...body }
    const signal = AbortSignal.timeout(options.timeoutMs)
    let response: { status: number, text: string }
    try {
      response = await post(http.send, endpoint, stringify(message), { agent: http.agent, signal, headers: authorization === undefined ? {} : { authorization } })
    } catch (error) {
      if (signal.aborted) throw new TimeoutError({ body: message, url: shownUrl })
      throw new HttpRequestError({ body: message, cause: error as Error, url: shownUrl })
    }
    const data = parseAnswer(response.text)
    const notAnswer = (details: string) => new HttpRequestError({ body: message, status: response.status, details: `${details}: ${response.text.slice(0, 200)}`, url: shownUrl })
    if (data === undefined) throw notAnswer('not a JSON-RPC answer')
    if (data.error !== undefined) throw new RpcRequestError({ body: message, error: data.error, status: response.status, url: shownUrl })
    if (response.status < 200 || response.status > 299) throw notAnswer(`HTTP ${response.status}`)
    if (!('result' in data)) throw notAnswer('no result')
    return data.result
  }

  return custom({ request }, { retryCount: options.retryCount })
}

interface RpcAnswer { result?: unknown, error?: { code: number, message: string, data?: unknown } }

/** The answer's JSON object, or undefined where the body is not one (an error in it must have a numeric code). */
function parseAnswer (text: string): RpcAnswer | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const { error } = value as { error?: unknown }
  if (error !== undefined && (typeof error !== 'object' || error === null || typeof (error as { code?: unknown }).code !== 'number')) return undefined
  return value as RpcAnswer
}

async function post (send: (url: URL, options: RequestOptions) => ClientRequest, endpoint: URL, body: string, options: Pick<RequestOptions, 'agent' | 'signal' | 'headers'>): Promise<{ status: number, text: string }> {
  const req = send(endpoint, {
    ...options,
    method: 'POST',
    headers: { ...options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  })
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve)
    req.on('error', reject)
  })
  req.end(body)
  const res = await answered
  return { status: res.statusCode ?? 0, text: await readBody(res, MAX_RESPONSE_BYTES) }
}
