import { isIP } from 'node:net'

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']
const WILDCARDS = ['0.0.0.0', '[::]']
/** host[:port], the host a name, an IPv4 address or a bracketed IPv6 address. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i

/**
 * Whether a request's Host header names the API itself: the address it listens on, with its port.
 * A web page that DNS rebinding pointed at the API still sends its own name as Host, so it is
 * refused. On loopback, localhost, 127.0.0.1 and [::1] are the same place; on a wildcard address
 * (0.0.0.0, ::), any IP literal and localhost are, since an IP literal cannot be rebound.
 */
export function isAllowedHost (hostHeader: string | undefined, listen: { host: string, port: number }): boolean {
  const match = HOST_HEADER.exec(hostHeader ?? '')
  if (match === null || Number(match[2] ?? 80) !== listen.port) return false
  const name = match[1]!.toLowerCase()
  const own = (isIP(listen.host) === 6 ? `[${listen.host}]` : listen.host).toLowerCase()
  if (name === own) return true
  if (LOOPBACK_NAMES.includes(own) || own.startsWith('127.')) return LOOPBACK_NAMES.includes(name)
  if (WILDCARDS.includes(own)) return name === 'localhost' || isIP(name.replace(/^\[|\]$/g, '')) !== 0
  return false
}
