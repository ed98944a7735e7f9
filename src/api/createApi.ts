import { timingSafeEqual } from 'node:crypto'
import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import { ApiError, toApiError } from './errors.ts'
import { contentRoutes } from './routes/content.ts'
import { eventRoutes } from './routes/events.ts'
import { jobRoutes } from './routes/jobs.ts'
import { nodeRoutes } from './routes/node.ts'
import { webRoutes } from './routes/web.ts'
import type { ApiDeps } from './apiDeps.ts'

const UNAUTHORISED = 'missing or wrong API token (see <data-dir>/api-token)'

export interface ApiInit {
  readonly host: string
  readonly port: number
  /** Every request must carry it (Authorization: Bearer …; ?token= for WebSockets, which browsers cannot give headers). */
  readonly token: string
  readonly node: ApiDeps
}

export interface Api {
  readonly url: string
  close(): Promise<void>
}

/** The node's local HTTP + WebSocket API, which the CLI, the SDK and the dashboard use. */
export async function createApi (init: ApiInit): Promise<Api> {
  // On shutdown, drop open connections (even a refused WebSocket upgrade) instead of waiting on them.
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, forceCloseConnections: true })
  const expected = Buffer.from(init.token)
  const authorised = (given: string | undefined) => {
    if (given === undefined) return false
    const bytes = Buffer.from(given)
    return bytes.length === expected.length && timingSafeEqual(bytes, expected)
  }

  app.addHook('onRequest', async request => {
    // The browser pages are public (see routes/web.ts); decided by the matched route, not the raw URL.
    if ((request.routeOptions.config as { public?: boolean }).public === true) return
    // WebSocket upgrades are checked in their route, which closes the socket with 4401: a refused
    // upgrade would otherwise leave a half-open connection behind.
    if (request.headers.upgrade === 'websocket') return
    const header = request.headers.authorization
    if (!authorised(header?.startsWith('Bearer ') === true ? header.slice(7) : undefined)) throw new ApiError(401, 'unauthorised', UNAUTHORISED)
  })
  app.setErrorHandler((error, _request, reply) => {
    const apiError = toApiError(error)
    void reply.status(apiError.status).send({ error: { code: apiError.code, message: apiError.message, ...(apiError.issues === undefined ? {} : { issues: apiError.issues }) } })
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'not-found', message: `no route ${request.method} ${request.url}` } })
  })

  await app.register(websocket, { options: { maxPayload: 64 * 1024 } })
  await app.register(async scope => {
    nodeRoutes(scope, init.node)
    contentRoutes(scope, init.node)
    jobRoutes(scope, init.node)
    eventRoutes(scope, init.node, authorised)
  }, { prefix: '/v1' })
  webRoutes(app)

  await app.listen({ host: init.host, port: init.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : init.port
  return {
    url: `http://${init.host.includes(':') ? `[${init.host}]` : init.host}:${port}`,
    async close () {
      await app.close()
    },
  }
}
