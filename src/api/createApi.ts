import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import { checkRequest } from './checkRequest.ts'
import { toApiError } from './errors.ts'
import { contentRoutes } from './routes/content.ts'
import { eventRoutes } from './routes/events.ts'
import { jobRoutes } from './routes/jobs.ts'
import { nodeRoutes } from './routes/node.ts'
import { provideRoutes } from './routes/provide.ts'
import { provideChainRoutes } from './routes/provideChain.ts'
import { webRoutes } from './routes/web.ts'
import type { ApiDeps } from './apiDeps.ts'
import type { RouteAccess } from './routeAccess.ts'
import type { AddressInfo } from 'node:net'

export interface ApiInit {
  readonly host: string
  readonly port: number
  /** Every request must carry it (Authorization: Bearer …; ?token= on the events WebSocket, which browsers cannot give headers). */
  readonly token: string
  /** The provide link's token: it reaches what a browser provider needs to join (GET /v1/provide) and nothing else. */
  readonly provideToken: string
  readonly node: ApiDeps
}

/** A route the API serves, and who may call it. */
export interface ApiRoute {
  readonly method: string
  readonly url: string
  readonly access: RouteAccess
}

export interface Api {
  readonly url: string
  /** Every route, as Fastify registered it (so a check over all of them covers routes added later). */
  readonly routes: readonly ApiRoute[]
  close(): Promise<void>
}

/** The node's local HTTP + WebSocket API, which the CLI, the SDK and the dashboard use. */
export async function createApi (init: ApiInit): Promise<Api> {
  // On shutdown, drop open connections (even a refused WebSocket upgrade) instead of waiting on them.
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, forceCloseConnections: true })
  const routes: ApiRoute[] = []
  app.addHook('onRoute', route => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, access: route.config?.access ?? 'admin' })
  })
  app.setErrorHandler((error, _request, reply) => {
    const apiError = toApiError(error)
    void reply.status(apiError.status).send({ error: { code: apiError.code, message: apiError.message, ...(apiError.issues === undefined ? {} : { issues: apiError.issues }) } })
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'not-found', message: `no route ${request.method} ${request.url}` } })
  })

  await app.register(websocket, { options: { maxPayload: 64 * 1024 } })
  // After the WebSocket plugin's own hooks: they mark real upgrades (request.ws), and close the
  // socket of one this check refuses once the 401 is sent.
  app.addHook('onRequest', checkRequest({
    listen: () => ({ host: init.host, port: (app.server.address() as AddressInfo).port }),
    apiToken: init.token,
    provideToken: init.provideToken,
  }))
  await app.register(async scope => {
    nodeRoutes(scope, init.node)
    contentRoutes(scope, init.node)
    jobRoutes(scope, init.node)
    eventRoutes(scope, init.node)
    provideRoutes(scope, init.node, init.provideToken)
    provideChainRoutes(scope, init.node)
  }, { prefix: '/v1' })
  webRoutes(app)

  await app.listen({ host: init.host, port: init.port })
  const { port } = app.server.address() as AddressInfo
  return {
    url: `http://${init.host.includes(':') ? `[${init.host}]` : init.host}:${port}`,
    routes,
    async close () {
      await app.close()
    },
  }
}
