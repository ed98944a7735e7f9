import { announceRelease, readLine, releaseLine } from '../ledger/index.ts'
import type { LedgerClient } from '../ledger/index.ts'
import type { LineRelease } from './settlement.ts'
import type { Address } from 'viem'

/**
 * Walks the requester's payment lines to `providers` and takes back what each holds unpaid, one
 * step at a time: a release is announced on a line that has none, done on one whose notice is over,
 * and waited for otherwise. Lines of providers `inUse` (lower case: a running job pays them) and
 * lines that hold nothing are left alone; the first are listed, the second not.
 */
export async function releaseLines (client: LedgerClient, providers: Iterable<string>, inUse: ReadonlySet<string>): Promise<LineRelease[]> {
  const now = (await client.public.getBlock()).timestamp
  // The requester's own lines as they are now: it sent what changed them.
  const lineTo = (provider: string) => readLine({ ...client, confirmations: 0 }, client.account.address, provider as Address)
  const released: LineRelease[] = []
  for (const provider of [...providers].sort()) {
    const line = await lineTo(provider)
    const held = line.reserved - line.paid
    if (held === 0n && line.releaseAt === 0n) continue
    const entry = { provider, heldWei: String(held) }
    if (inUse.has(provider)) {
      released.push({ ...entry, state: 'in-use', releaseAt: null })
    } else if (line.releaseAt === 0n) {
      await announceRelease(client, provider as Address)
      released.push({ ...entry, state: 'announced', releaseAt: Number((await lineTo(provider)).releaseAt) })
    } else if (line.releaseAt > now) {
      released.push({ ...entry, state: 'waiting', releaseAt: Number(line.releaseAt) })
    } else {
      await releaseLine(client, provider as Address)
      released.push({ ...entry, state: 'released', releaseAt: null })
    }
  }
  return released
}
