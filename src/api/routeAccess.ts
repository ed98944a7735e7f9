/**
 * Who may call a route, set in its config (`{ config: { access: 'public' } }`); the default is
 * 'admin'. A route nobody declared (a 404) is 'admin' too, so the API cannot be mapped without the token.
 *
 * - 'public': the browser pages, which hold no secrets.
 * - 'admin': everything else; the API token only.
 */
export type RouteAccess = 'public' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess
    /** A WebSocket upgrade to this route may give its token as ?token= (browsers cannot set its headers). */
    queryToken?: boolean
  }
}
