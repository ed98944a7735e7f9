import { isLoopback } from '../common/loopback.ts'

/**
 * Which of the node's WebSocket addresses a tab dials. A phone that opened the page through the
 * node's LAN address cannot reach the node's loopback address: the address on the host the page
 * came from goes first, then any address off loopback; a page opened on loopback takes the first.
 * None fits when the page came over the network and the node listens for WebSockets on loopback only.
 */
export function pickBootstrapAddress (multiaddrs: readonly string[], pageHostname: string): string | undefined {
  const host = pageHostname.replace(/^\[|\]$/g, '').toLowerCase()
  const hostOf = (addr: string) => addr.split('/')[2]?.toLowerCase() ?? ''
  if (isLoopback(host)) return multiaddrs[0]
  return multiaddrs.find(addr => hostOf(addr) === host) ?? multiaddrs.find(addr => !isLoopback(hostOf(addr)))
}
