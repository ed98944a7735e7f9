import { timingSafeEqual } from 'node:crypto'
import { isAllowedHost } from './allowedHost.ts'
import { ApiError } from './errors.ts'
import type { FastifyRequest } from 'fastify'

const UNAUTHORISED = 'missing or wrong API token (see <data-dir>/api-token)'

export interface RequestCheckInit {
  /** Where the API listens, port included (known once it is bound). */
  readonly listen: () => { host: string, port: number }
  /** The API token: it reaches every route. */
  readonly apiToken: string
  /** The provide link's token: it reaches the 'provide' routes only. */
  readonly provideToken: string
}

/**
 * The check every request passes before its route runs: the Host header must name the API (against
 * DNS rebinding), then the request must carry a token its route accepts (see routeAccess.ts), as
 * Authorization: Bearer …. Only a real WebSocket upgrade (request.ws, set by @fastify/websocket
 * from the server's 'upgrade' event, not from a header anyone can add) to a route that allows it
 * may give the token as ?token=. A refused upgrade is answered 401 before any handshake.
 */
export function checkRequest (init: RequestCheckInit): (request: FastifyRequest) => Promise<void> {
  const tokens = { api: Buffer.from(init.apiToken), provide: Buffer.from(init.provideToken) }
  const matches = (given: unknown, expected: Buffer) => {
    if (typeof given !== 'string') return false
    const bytes = Buffer.from(given)
    return bytes.length === expected.length && timingSafeEqual(bytes, expected)
  }
  return async request => {
    const listen = init.listen()
    if (!isAllowedHost(request.headers.host, listen)) {
      throw new ApiError(403, 'host-not-allowed', `the Host header must name this API (port ${listen.port} on ${listen.host}): a page under another name may be reaching it through DNS rebinding`)
    }
    const { access = 'admin', queryToken = false } = request.routeOptions.config
    if (access === 'public') return
    const header = request.headers.authorization
    const given = header?.startsWith('Bearer ') === true
      ? header.slice(7)
      : request.ws && queryToken ? (request.query as { token?: unknown }).token : undefined
    if (matches(given, tokens.api) || (access === 'provide' && matches(given, tokens.provide))) return
    throw new ApiError(401, 'unauthorised', UNAUTHORISED)
  }
}
