import { MAX_UNPAID_RESULTS } from '../net/index.ts'
import type { Address } from 'viem'

/**
 * A provider's pay is reserved on its payment line once this many of its accepted results are beyond its
 * reservation: one transaction covers every provider then behind, and it lands well before the
 * provider holds tasks back for want of pay (MAX_UNPAID_RESULTS).
 */
export const RESERVE_EVERY_RESULTS = MAX_UNPAID_RESULTS / 2

/**
 * A paid job's default budget above its cost (every replica of every task at its price): room in
 * the standing balance for what a job may take beyond what its providers earn, such as pay
 * reserved ahead for a provider that then stops.
 */
export const HEADROOM_PERCENT = 10n

/** What a job's budget leaves to reserve ahead of what its providers are owed. */
export interface ReservationRoom {
  /**
   * What may be reserved ahead of what the job's providers are owed, all together: what of the
   * job's budget they are not owed yet. Reserved and not earned by the job's end, it stays on the
   * provider's line for its next job (or a release), so the job locks no more than its budget.
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
 * more than its share of the remaining work (in proportion to its results so far), and all
 * providers together no more than the headroom. Without headroom nothing is reserved ahead:
 * amounts never exceed what is owed.
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
    // Its whole share: what a job leaves reserved beyond a provider's earnings stays on its line
    // for its next job, so it costs no gas (escrow version 4 wrote it and refunded it a day later,
    // and reserved a third of the share within the budget beyond the job's cost instead). Replayed
    // with results in a random order at paces 1:2:4 over three providers, 200 jobs of 1,000 tasks
    // took 5.3 reservations each against 14.0 that way, 100,000 tasks 14 against 51, and a million
    // at 1:2 on two providers 15 against 47.
    const share = totalOwed === 0n ? 0n : room.remainingWei * amount / totalOwed
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

/**
 * reservationsDue for a job whose providers are paid on payment lines, which the requester's other
 * jobs share: what a line holds beyond what its provider is owed outside this job counts as reserved
 * for this job, so pay reserved ahead in an earlier job is used before anything more is reserved.
 * `earned`: what the job owes each provider; `owed` and `reserved`: each line's totals. Returns the
 * lines' new reservations.
 */
export function lineReservationsDue (earned: ReadonlyMap<Address, bigint>, owed: ReadonlyMap<Address, bigint>, reserved: ReadonlyMap<Address, bigint>, priceWei: bigint, room: ReservationRoom): Array<{ provider: Address, amount: bigint }> {
  const elsewhere = (provider: Address) => (owed.get(provider) ?? 0n) - (earned.get(provider) ?? 0n)
  const here = new Map([...earned.keys()].map(provider => [provider, max(0n, (reserved.get(provider) ?? 0n) - elsewhere(provider))]))
  return reservationsDue(earned, here, priceWei, room).map(({ provider, amount }) => ({ provider, amount: amount + elsewhere(provider) }))
}

/**
 * What a settlement reserves ahead on a line beyond the `results` its provider earned in the job:
 * a provider's share of a next job like this one wavers. Its count of results is roughly binomial,
 * so its variance is at most its mean, and the difference between two jobs' counts has at most
 * twice that: three standard deviations of it, so that a next job seldom outruns the reservation
 * (at paces 1:2:4 over 1,000 tasks, 51 to 102 results ahead of shares of 143 to 571).
 */
export function settlementMargin (results: number): number {
  return Math.ceil(3 * Math.sqrt(2 * results))
}

/**
 * What a job's settlement reserves each of its providers' lines up to, for the provider's next job
 * with this requester: what it is owed and, ahead, as much as it earned in this job and a margin
 * (settlementMargin), so that a next job like this one needs no reservation (each
 * costs a transaction; raising a reservation in the settlement, which writes the line anyway,
 * costs next to nothing). All together no more is
 * taken than `freeWei` of the standing balance leaves after what the settlement draws anyway
 * (shared in proportion to the earnings), in whole results. What stays reserved and unused is the
 * requester's to release (see EscrowSettlement.releaseLines).
 */
export function reservesAtSettlement (earned: ReadonlyMap<Address, bigint>, owed: ReadonlyMap<Address, bigint>, reserved: ReadonlyMap<Address, bigint>, priceWei: bigint, freeWei: bigint): Map<Address, bigint> {
  const floor = (provider: Address) => max(reserved.get(provider) ?? 0n, owed.get(provider) ?? 0n)
  const drawn = drawnAtSettlement(owed, reserved)
  const margin = (amount: bigint) => priceWei === 0n ? 0n : priceWei * BigInt(settlementMargin(Number(amount / priceWei)))
  const wanted = new Map([...earned].map(([provider, amount]) => [provider, max(0n, (owed.get(provider) ?? 0n) + amount + margin(amount) - floor(provider))]))
  const total = [...wanted.values()].reduce((sum, amount) => sum + amount, 0n)
  const available = max(0n, freeWei - drawn)
  return new Map([...wanted].map(([provider, amount]) => {
    const raise = total > available ? amount * available / total : amount
    return [provider, floor(provider) + raise - raise % (priceWei === 0n ? 1n : priceWei)]
  }))
}

/** What a settlement paying each line in `owed` takes from the balance beyond the lines' reservations. */
export function drawnAtSettlement (owed: ReadonlyMap<Address, bigint>, reserved: ReadonlyMap<Address, bigint>): bigint {
  return [...owed].reduce((sum, [provider, amount]) => sum + max(0n, amount - (reserved.get(provider) ?? 0n)), 0n)
}

const min = (...values: bigint[]) => values.reduce((a, b) => a < b ? a : b)
const max = (a: bigint, b: bigint) => a > b ? a : b
