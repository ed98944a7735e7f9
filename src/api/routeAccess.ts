/**
 * Who may call a route, set in its config (`{ config: { access: 'provide' } }`); the default is
 * 'admin'. A route nobody declared (a 404) is 'admin' too, so the API cannot be mapped without the token.
 *
 * - 'public': the browser pages, which hold no secrets.
 * - 'provide': what a browser provider needs to join the grid; the provide link's token reaches it,
 *   and so does the API token.
 * - 'admin': everything else; the API token only.
 */
export type RouteAccess = 'public' | 'provide' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess
    /** A WebSocket upgrade to this route may give its token as ?token= (browsers cannot set its headers). */
    queryToken?: boolean
  }
}
