import { describeReachability } from '../net/index.ts'
import type { Reachability } from '../net/index.ts'

/** What `node start` and `node status` say about who can reach the node, one fact a line. */
export function reachabilityLines (reachability: Reachability): string[] {
  const { headline, dial, relays } = describeReachability(reachability)
  return [`reachable ${headline}`, ...dial.map(addr => `  dial      ${addr}`), ...relays.map(addr => `  relay     ${addr}`)]
}
