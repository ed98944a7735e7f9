import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RESERVE_EVERY_RESULTS, reservationsDue } from './reservationsDue.ts'
import type { Address } from 'viem'

const PRICE = 10n ** 16n
const [a, b, c] = ['0xa', '0xb', '0xc'].map(prefix => prefix.padEnd(42, '0')) as [Address, Address, Address]
const results = (n: number) => PRICE * BigInt(n)

/**
 * A job of `tasks` results, each accepted from the provider `pick` names, with the budget `extra`
 * results above its cost: reserving whenever the policy says so, ahead within what of the budget
 * is not owed yet (as EscrowSettlement does). Checks at every step what must always hold, and
 * returns the number of reservations and what stays reserved and unearned.
 */
function run (tasks: number, extra: number, pick: (i: number) => Address | undefined) {
  const owed = new Map<Address, bigint>()
  const reserved = new Map<Address, bigint>()
  const most = results(tasks)
  const budget = most + results(extra)
  let reservations = 0
  let accepted = 0n
  for (let i = 0; i < tasks; i++) {
    const provider = pick(i)
    if (provider === undefined) continue
    owed.set(provider, (owed.get(provider) ?? 0n) + PRICE)
    accepted += PRICE
    const due = reservationsDue(owed, reserved, PRICE, { headroomWei: budget - accepted, remainingWei: most - accepted })
    if (due.length > 0) reservations++
    for (const { provider: p, amount } of due) {
      assert.ok(amount >= (reserved.get(p) ?? 0n), 'a reservation is never lowered')
      assert.equal(amount % PRICE, 0n, 'whole results')
      reserved.set(p, amount)
    }
    if (due.length > 0) {
      const total = [...reserved].reduce((sum, [p, amount]) => sum + max(amount, owed.get(p) ?? 0n), 0n)
      assert.ok(total <= budget, `step ${i}: ${total} reserved and owed, beyond the budget`)
    }
    for (const [p, amount] of owed) assert.ok(amount - (reserved.get(p) ?? 0n) <= results(RESERVE_EVERY_RESULTS), `step ${i}: ${p} is more than ${RESERVE_EVERY_RESULTS} results behind`)
  }
  const unearned = [...reserved].reduce((sum, [p, amount]) => sum + (amount > (owed.get(p) ?? 0n) ? amount - (owed.get(p) ?? 0n) : 0n), 0n)
  return { reservations, unearned: Number(unearned / PRICE), owed, reserved, budget }
}

const max = (x: bigint, y: bigint) => x > y ? x : y

test('without headroom nothing is reserved ahead: providers are brought up to what they are owed once one is 16 results behind', () => {
  const owed = new Map([[a, results(16)], [b, results(15)], [c, results(3)]])
  assert.deepEqual(reservationsDue(new Map([[a, results(15)], [b, results(15)]]), new Map(), PRICE), [], 'nobody 16 behind yet')
  assert.deepEqual(reservationsDue(owed, new Map([[c, results(3)]]), PRICE), [{ provider: a, amount: results(16) }, { provider: b, amount: results(15) }])
  assert.deepEqual(reservationsDue(owed, new Map(), 0n), [], 'a free job reserves nothing')
})

test('with headroom a provider is reserved ahead as much as it has earned, within its share of the work left and the headroom', () => {
  const owed = new Map([[a, results(16)], [b, results(4)]])
  // 100 results of headroom, 1,000 left: a gets 16 ahead (what it earned), b its minimum of 16.
  assert.deepEqual(reservationsDue(owed, new Map(), PRICE, { headroomWei: results(100), remainingWei: results(1000) }), [{ provider: a, amount: results(32) }, { provider: b, amount: results(20) }])
  // 10 results of headroom are split between them.
  assert.deepEqual(reservationsDue(owed, new Map(), PRICE, { headroomWei: results(10), remainingWei: results(1000) }), [{ provider: a, amount: results(21) }, { provider: b, amount: results(9) }])
  // 10 results left, a has 80 % of the results so far: its share, 8, at most ahead for a, 2 for b.
  assert.deepEqual(reservationsDue(owed, new Map(), PRICE, { headroomWei: results(100), remainingWei: results(10) }), [{ provider: a, amount: results(24) }, { provider: b, amount: results(6) }])
  // a is 16 behind; b holds 10 ahead of the 30 of headroom. a gets half of the 20 left, and b, in
  // the same transaction, the rest with its own 10: 30 ahead in all.
  assert.deepEqual(reservationsDue(new Map([[a, results(40)], [b, results(20)]]), new Map([[a, results(24)], [b, results(30)]]), PRICE, { headroomWei: results(30), remainingWei: results(1000) }), [{ provider: a, amount: results(50) }, { provider: b, amount: results(40) }])
})

test('ahead within the budget: few reservations for 1,000 results over three providers, and for large jobs, and nothing locked beyond the budget', () => {
  // Round robin, the budget at the cost: the budget not yet owed is room enough.
  assert.ok(run(1000, 0, i => [a, b, c][i % 3]).reservations <= 8)
  // Providers at 1×, 2× and 4× the pace, results in a random order, 10 % above the cost.
  let seed = 7
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  const pick = () => { const x = random() * 7; return x < 1 ? a : x < 3 ? b : c }
  const jobs = Array.from({ length: 200 }, () => run(1000, 100, pick))
  const average = jobs.reduce((sum, job) => sum + job.reservations, 0) / jobs.length
  // Replayed the way escrow version 4 reserved (a third of a provider's share, within the budget
  // beyond the cost), the same jobs took 14.0 on average.
  assert.ok(average <= 7, `${average} reservations a job on average`)
  // A large job needs few: 51 that way.
  const large = run(100_000, 10_000, pick)
  assert.ok(large.reservations <= 20, `${large.reservations} reservations for 100,000 results`)
})

test('a provider that stops half way keeps pay reserved ahead on its line, and the job still reserves and settles the rest', () => {
  // a stops after 500 results of the job; b and c do its share from then on.
  const job = run(1000, 100, i => i < 500 ? [a, b, c][i % 3] : [b, c][i % 2])
  assert.ok(job.unearned > 0, 'the provider that stopped holds pay it did not earn: the requester\'s, on its line until its next job or a release')
  // No provider is reserved more ahead than it has earned: a stopped after its 167th result.
  assert.ok(job.unearned <= 167, `${job.unearned} results reserved and unearned`)
  for (const p of [b, c]) assert.ok((job.owed.get(p) ?? 0n) - (job.reserved.get(p) ?? 0n) < results(RESERVE_EVERY_RESULTS), `${p} ends within ${RESERVE_EVERY_RESULTS} results of its reservation: the settlement draws little`)
})

test('on payment lines, pay a line holds from an earlier job is used before anything more is reserved, and amounts are the lines\' totals', async () => {
  const { lineReservationsDue } = await import('./reservationsDue.ts')
  const room = { headroomWei: results(100), remainingWei: results(1000) }
  // a's line: owed 50 from earlier jobs, 80 reserved (30 left over); this job owes it 20 so far.
  const earned = new Map([[a, results(20)]])
  assert.deepEqual(lineReservationsDue(earned, new Map([[a, results(70)]]), new Map([[a, results(80)]]), PRICE, room), [], 'the 30 left over cover the 20 earned here')
  // At 46 earned here the leftover is 16 behind: a is brought up to its line's 96 and, as
  // reservationsDue does, ahead by what it earned in this job.
  const later = new Map([[a, results(46)]])
  assert.deepEqual(lineReservationsDue(later, new Map([[a, results(96)]]), new Map([[a, results(80)]]), PRICE, room), [{ provider: a, amount: results(96 + 46) }])
  // The same job on fresh lines reserves as reservationsDue does.
  assert.deepEqual(lineReservationsDue(later, later, new Map(), PRICE, room), reservationsDue(later, new Map(), PRICE, room))
})

test('a settlement reserves each line ahead by what its provider earned in the job and a margin, within what the balance has free', async () => {
  const { reservesAtSettlement, settlementMargin } = await import('./reservationsDue.ts')
  assert.deepEqual([0, 8, 143, 571].map(settlementMargin), [0, 12, 51, 102], 'three standard deviations of the difference of two binomial counts')
  const earned = new Map([[a, results(32)], [b, results(8)]])
  // a's line owes 52 (20 from earlier jobs) and holds 40; b's owes 8 and already holds 40.
  const owed = new Map([[a, results(52)], [b, results(8)]])
  const reserved = new Map([[a, results(40)], [b, results(40)]])
  assert.deepEqual(reservesAtSettlement(earned, owed, reserved, PRICE, results(1000)), new Map([[a, results(52 + 32 + 24)], [b, results(40)]]), 'a: owed, its 32 and a margin of 24 ahead; b already holds 32 ahead of its 8, more than 8 and 12')
  // 12 drawn for a's settlement leaves 20 of 32 free: a gets 20 ahead.
  assert.deepEqual(reservesAtSettlement(earned, owed, reserved, PRICE, results(32)), new Map([[a, results(72)], [b, results(40)]]))
  assert.deepEqual(reservesAtSettlement(earned, owed, reserved, PRICE, results(5)), new Map([[a, results(52)], [b, results(40)]]), 'nothing free: what is owed only')
})
