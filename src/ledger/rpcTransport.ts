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
import type { Transport } from 'viem'
import type { IncomingMessage } from 'node:http'

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
  const secure = endpoint.protocol === 'https:'
  // Credentials in the URL (https://user:secret@host) become Basic auth, as fetch does; they stay out of error messages.
  const authorization = endpoint.username === '' ? undefined : `Basic ${Buffer.from(`${decodeURIComponent(endpoint.username)}:${decodeURIComponent(endpoint.password)}`).toString('base64')}`
  endpoint.username = ''
  endpoint.password = ''
  const shownUrl = endpoint.href
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true })
  let nextId = 0

  async function request (body: RpcBody): Promise<unknown> {
    const message = { jsonrpc: '2.0', id: nextId++, ...body }
    let response: { status: number, text: string }
    try {
      response = await post(endpoint, stringify(message), { agent, secure, authorization, timeoutMs: options.timeoutMs })
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') throw new TimeoutError({ body: message, url: shownUrl })
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

function post (endpoint: URL, body: string, options: { agent: HttpAgent, secure: boolean, authorization: string | undefined, timeoutMs: number }): Promise<{ status: number, text: string }> {
  return new Promise((resolve, reject) => {
    // An abort (the timeout) fails with its reason; whatever fails first settles the promise.
    const fail = (error: Error) => reject(error.name === 'AbortError' && error.cause instanceof Error ? error.cause : error)
    const send = options.secure ? httpsRequest : httpRequest
    const req = send(endpoint, {
      method: 'POST',
      agent: options.agent,
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
      },
    }, (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_RESPONSE_BYTES) res.destroy(new Error(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`))
        else chunks.push(chunk)
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', fail)
      res.on('close', () => { if (!res.complete) fail(new Error('the connection closed before the response ended')) })
    })
    req.on('error', fail)
    req.end(body)
  })
}
