import type { ApiDeps } from '../apiDeps.ts'
import type { FastifyInstance } from 'fastify'

/** Live events over WebSocket: everything the requester and the provider agent report. */
export function eventRoutes (app: FastifyInstance, node: ApiDeps): void {
  app.get('/events', { websocket: true }, socket => {
    const send = (source: 'requester' | 'provider') => (event: object) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ source, ...event }))
    }
    const unsubscribe = [
      node.requester.events.on(send('requester')),
      ...(node.provider === undefined ? [] : [node.provider.events.on(send('provider'))]),
    ]
    socket.on('close', () => unsubscribe.forEach(off => off()))
    // Clients only listen; anything they send is ignored.
    socket.on('message', () => {})
  })
}
