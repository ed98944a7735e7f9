/** Text layouts for the CLI. */
import type { Reachability } from '../net/index.ts'

/** A fixed-width text table. */
export function table (header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map(row => row[column]?.length ?? 0)))
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/** What `node start` and `node status` say about who can reach the node, one fact a line. */
export function reachabilityLines (reachability: Reachability): string[] {
  const { status, mode, addresses, relays } = reachability
  const lines: string[] = []
  if (mode === 'lan') lines.push('reachable on this machine or LAN only (no public bootstrap peer or address)')
  else if (status === 'public') lines.push('reachable publicly: peers dial it directly (and it relays for peers behind NATs)')
  else if (status === 'private') lines.push(relays.length > 0 ? `reachable through ${relays.length} relay${relays.length === 1 ? '' : 's'} (behind a NAT; direct connections are hole-punched where the NATs allow)` : 'not reachable yet: behind a NAT, looking for a relay')
  else lines.push('reachability unknown: waiting for peers to confirm its public address')
  for (const addr of addresses) lines.push(`  dial      ${addr}`)
  for (const relay of relays) lines.push(`  relay     ${relay.address}`)
  return lines
}
