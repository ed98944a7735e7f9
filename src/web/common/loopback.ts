/** Whether a host name or address (IPv6 with or without brackets) stays on the machine itself. */
export function isLoopback (host: string): boolean {
  return /^(localhost|127(\.\d+){3}|::1)$/i.test(host.replace(/^\[|\]$/g, ''))
}
