import { MAX_UNPAID_RESULTS } from '../net/index.ts'
import type { Address } from 'viem'

/**
 * A provider's pay is reserved in the escrow once this many of its accepted results are beyond its
 * reservation: one transaction covers every provider then behind, and it lands well before the
 * provider holds tasks back for want of pay (MAX_UNPAID_RESULTS).
 */
export const RESERVE_EVERY_RESULTS = MAX_UNPAID_RESULTS / 2

/**
 * A paid job's default budget above its cost: with 10 %, a 1,000-task job on three providers at
 * paces 1:2:4 needs 15 reservations instead of 37 (bench:gas), a million-task job on two about 45
 * instead of about 32,000 (the policy below replayed).
 */
export const HEADROOM_PERCENT = 10n

/** What a job's budget leaves to reserve ahead of what its providers are owed. */
export interface ReservationRoom {
  /**
   * The budget beyond the most the job can owe (every replica of every task): only this may be
   * reserved ahead, so that a provider that stops with pay reserved it never earned (which waits in
   * the escrow until the claim window is over) cannot leave the rest of the job short.
   */
  readonly headroomWei: bigint
  /** What the results not yet accepted can be owed at most: no provider is reserved more than its share of it ahead. */
  readonly remainingWei: bigint
}

const NO_ROOM: ReservationRoom = { headroomWei: 0n, remainingWei: 0n }

/**
 * The reservations to send now: none until a provider is RESERVE_EVERY_RESULTS results behind, then
 * one transaction that brings every provider up to what it is owed and, within the room, ahead of
 * it. Ahead, a provider gets what it has earned so far (at least RESERVE_EVERY_RESULTS results), so
 * a provider that keeps working needs a reservation about as often as its earnings double; but no
 * more than a third of its share of the remaining work (in proportion to its results so far, so the job
 * seldom ends with anything reserved and unearned), and all providers together no more than the headroom.
 * Without headroom nothing is reserved ahead: amounts never exceed what is owed.
 */
export function reservationsDue (owed: ReadonlyMap<Address, bigint>, reserved: ReadonlyMap<Address, bigint>, priceWei: bigint, room: ReservationRoom = NO_ROOM): Array<{ provider: Address, amount: bigint }> {
  if (priceWei === 0n) return []
  const step = priceWei * BigInt(RESERVE_EVERY_RESULTS)
  const reservedOf = (provider: Address) => reserved.get(provider) ?? 0n
  if (![...owed].some(([provider, amount]) => amount - reservedOf(provider) >= step)) return []
  const totalOwed = [...owed.values()].reduce((sum, amount) => sum + amount, 0n)
  const aheadOf = (provider: Address, amount: bigint) => max(0n, reservedOf(provider) - amount)
  // Headroom not held ahead by anyone now; each provider's own ahead is its to re-use.
  let left = room.headroomWei - [...owed].reduce((sum, [provider, amount]) => sum + aheadOf(provider, amount), 0n)
  let unvisited = BigInt(owed.size)
  const due: Array<{ provider: Address, amount: bigint }> = []
  for (const [provider, amount] of owed) {
    const available = left + aheadOf(provider, amount)
    // A third of its share: a provider's pace wavers, and a job that ends with any provider reserved
    // beyond its earnings settles as refund-pending (its shares written, a refund a day later).
    // Simulated with results in a random order at paces 1:2:4 over three providers (200 jobs each),
    // the whole share left 187 of 200 1,000-task jobs so and took 223 reservations for 100,000
    // tasks; a third leaves none and takes 40.5 (1:1:1, 1,000 tasks: 2 jobs, 9.4 reservations
    // against 151 and 8.1; a million tasks at 1:2 on two: 1 job, 44.6 against 197 and 3,337).
    const share = totalOwed === 0n ? 0n : room.remainingWei * amount / totalOwed / 3n
    // What is left is shared out evenly among the providers not yet visited, this one included.
    const ahead = max(0n, min(max(step, amount), share, available / unvisited))
    unvisited -= 1n
    // Rounded down to whole results, as receipts count them.
    const target = amount + ahead - ahead % priceWei
    if (target > reservedOf(provider)) {
      due.push({ provider, amount: target })
      left = available - (target - amount)
    }
  }
  return due
}

const min = (...values: bigint[]) => values.reduce((a, b) => a < b ? a : b)
const max = (a: bigint, b: bigint) => a > b ? a : b
