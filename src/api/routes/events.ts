import type { ApiDeps } from '../apiDeps.ts'
import type { FastifyInstance } from 'fastify'

/** Events reach clients in batches, at most one message per this interval (thousands of tasks a second would otherwise mean thousands of messages). */
const EVENT_BATCH_INTERVAL_MS = 20

/** Live events over WebSocket: everything the requester and the provider agent report, as JSON arrays. */
export function eventRoutes (app: FastifyInstance, node: ApiDeps): void {
  // Browsers cannot set headers on a WebSocket, so the token may come as ?token= (checked before the upgrade).
  app.get('/events', { websocket: true, config: { queryToken: true } }, socket => {
    let batch: object[] = []
    let timer: NodeJS.Timeout | undefined
    const flush = () => {
      timer = undefined
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(batch))
      batch = []
    }
    const send = (source: 'requester' | 'provider') => (event: object) => {
      batch.push({ source, ...event })
      timer ??= setTimeout(flush, EVENT_BATCH_INTERVAL_MS)
    }
    const unsubscribe = [
      node.requester.events.on(send('requester')),
      ...(node.provider === undefined ? [] : [node.provider.events.on(send('provider'))]),
    ]
    socket.on('close', () => {
      clearTimeout(timer)
      unsubscribe.forEach(off => off())
    })
    // Clients only listen; anything they send is ignored.
    socket.on('message', () => {})
  })
}
