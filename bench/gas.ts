// `npm run bench:gas`: what paying providers costs on chain. For jobs of 1, 100 and 1,000 tasks
// whose results come back in a random order from 3 providers working at paces 1:2:4, the gas of
// conun's escrow (open the job from the requester's standing balance in the escrow, topped up by a
// deposit with a permit when it runs short; reserve what providers are owed as their results are
// accepted, ahead within the default budget's headroom; sign cumulative receipts off chain; settle
// everyone in one final transaction, and a day later refund what stayed reserved and unearned,
// when anything did) beside the naive way (one ERC-20 transfer per task), both measured on the
// same dev chain in this run. The transactions are the very ones a requester node
// sends (src/ledger), reserving and depositing when its own policies do (reservationsDue,
// depositDue with the default top-up), not estimates.
import { randomBytes } from 'node:crypto'
import { keccak256, parseEther, toHex } from 'viem'
import { claimPayment, conunTokenAbi, createLedgerClient, depositToEscrow, finalizeJob, formatCon, fundFromFaucet, onchainJobId, openJob, openJobFromBalance, readBalances, readEscrowBalance, readEscrowJob, refundJob, refundWait, reservePayments, resultRoot, sendContract, signReceipt, startDevChain } from '../src/ledger/index.ts'
import { DEFAULT_ESCROW_TOP_UP_WEI, depositDue, HEADROOM_PERCENT, RESERVE_EVERY_RESULTS, reservationsDue } from '../src/requester/index.ts'
import type { LedgerClient } from '../src/ledger/index.ts'
import type { Address, Hex } from 'viem'

const PRICE = parseEther('0.01')
const SIZES = [1, 100, 1000]
/** A job's budget above its cost when its spec sets none, as a requester node opens it. */
const DEFAULT_HEADROOM = Number(HEADROOM_PERCENT)
/** How fast each provider returns results, relative to the others: real grids are uneven. */
const PACES = [1, 2, 4]
let seed = 1
/** A seeded generator (the same figures every run), shared by every job of the run. */
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
const chain = await startDevChain()
try {
  const account = async (secret = randomBytes(32)) => {
    const client = createLedgerClient(chain.info, secret)
    await fundFromFaucet(chain.info, client.account.address)
    return client
  }
  const requesterSecret = randomBytes(32)
  const requester = await account(requesterSecret)
  // Providers that already hold CON, as any provider does after its first payment.
  const providers = await Promise.all([account(), account(), account()])
  const addresses = providers.map(p => p.account.address)

  const rows = []
  for (const tasks of SIZES) {
    const conun = await escrowJob(requester, addresses, tasks)
    const naive = await transferPerTask(requester, addresses, tasks)
    rows.push({ tasks, ...conun, naive })
  }

  console.log(`gas to pay 3 providers ${formatCon(PRICE)} per task (dev chain ${chain.info.chainId}), results coming back in a random order at paces ${PACES.join(':')}; a reservation once a provider is owed ${RESERVE_EVERY_RESULTS} results beyond its own, ahead within a budget ${DEFAULT_HEADROOM} % above the cost (the default); jobs opened from the standing balance, topped up by ${formatCon(DEFAULT_ESCROW_TOP_UP_WEI)} when short\n`)
  console.log('| tasks | conun: open from the balance + reserve + settle (and refund) (gas) | reservations | conun gas / task | of which paying providers (reserve + settle) | naive: a transfer per task (gas) | naive gas / task | conun cheaper by (all / paying only) |')
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const row of rows) {
    const paying = row.reserve + row.settle
    console.log(`| ${row.tasks.toLocaleString('en')} | ${row.total.toLocaleString('en')} (${row.open.toLocaleString('en')} + ${row.reserve.toLocaleString('en')} + ${row.settle.toLocaleString('en')}) | ${row.reservations} | ${(row.total / row.tasks).toFixed(1)} | ${(paying / row.tasks).toFixed(1)} / task | ${row.naive.toLocaleString('en')} | ${(row.naive / row.tasks).toFixed(0)} | ${(row.naive / row.total).toFixed(0)}× / ${(row.naive / paying).toFixed(0)}× |`)
  }
  const atCost = await escrowJob(requester, addresses, 1000, 0)
  console.log(`\nwith the budget at the job's cost (nothing to reserve ahead in): 1,000 tasks for ${atCost.total.toLocaleString('en')} gas (${atCost.open.toLocaleString('en')} + ${atCost.reserve.toLocaleString('en')} + ${atCost.settle.toLocaleString('en')}), ${atCost.reservations} reservations, ${(atCost.total / 1000).toFixed(1)} gas/task, ${(atCost.total / rows.at(-1)!.total).toFixed(2)}× the default's`)
  const claims = await providerClaims(requester, requesterSecret, providers, 1000)
  console.log(`\nif providers also claim themselves (3 claims of their last receipts, then the settlement pays what was not reserved): ${claims.toLocaleString('en')} gas for 1,000 tasks, ${(claims / 1000).toFixed(1)} gas/task`)

  // The deposit, counted as the node pays it: a fresh requester runs 1,000-task jobs until its
  // first top-up is spent; that deposit is shared by every job it funded.
  const series = await jobsOfOneDeposit(await account(), addresses, 1000)
  const legacy = await openWithPermit(requester, 1000)
  const last = rows.at(-1)!
  const paying = last.reserve + last.settle
  const openSettle = series.open + series.settle
  const perTask = (gas: number) => `${(gas / last.tasks).toFixed(1)} gas/task`
  console.log(`\nthe standing balance: a deposit of ${formatCon(series.deposited)} (the default top-up) funded ${series.jobs} jobs of 1,000 tasks, run here one after another, each opened for ${series.open.toLocaleString('en')} gas and settled for ${series.settle.toLocaleString('en')} gas (averages; ${series.refunded} of them left pay reserved and unearned, refunded a day later, counted in the settlement); the next top-up cost ${series.topUp.toLocaleString('en')} gas, the first deposit ${series.firstDeposit.toLocaleString('en')} (it also creates the requester's account in the escrow, once)`)
  console.log(`\ngoal: ≤ 100 gas/task at 1,000 tasks for open + settle with the deposit counted, and ≥ 300× cheaper than the naive way`)
  console.log(`  open from the balance + settle:     ${perTask(openSettle)}`)
  console.log(`  with the escrow deposit as well:    ${perTask(openSettle + series.topUp / series.jobs)}, ${(last.naive / (openSettle + series.topUp / series.jobs)).toFixed(0)}× cheaper (a top-up amortised over the ${series.jobs} jobs it funds)`)
  console.log(`  one job with a fresh deposit:       ${perTask(openSettle + series.firstDeposit)} (a new requester's first job, its deposit counted whole)`)
  console.log(`  the old way, the deposit in the job (openJobWithPermit, ${legacy.toLocaleString('en')} gas) + settle: ${perTask(legacy + series.settle)}`)
  console.log(`  everything, reservations included:  ${perTask(openSettle + series.topUp / series.jobs + series.reserve)} (${series.reservations.toFixed(1)} reservations per job)`)
  console.log(`  paying (reservations + settlement): ${perTask(paying)}, ${(last.naive / paying).toFixed(0)}× cheaper`)
  console.log(`  settlement alone:                   ${perTask(last.settle)}, ${(last.naive / last.settle).toFixed(0)}× cheaper`)
} finally {
  await chain.close()
}

/** Which provider returns each of a job's results, in order: each at its pace, in a random order. */
function resultOrder (providers: readonly Address[], tasks: number): Address[] {
  const total = PACES.reduce((sum, pace) => sum + pace, 0)
  return Array.from({ length: tasks }, () => {
    let x = random() * total
    return providers[PACES.findIndex(pace => (x -= pace) < 0)]!
  })
}

/** What each provider is owed at the end of a job whose results came in `order`. */
function owedFor (order: readonly Address[]) {
  const owed = new Map<Address, bigint>()
  for (const provider of order) owed.set(provider, (owed.get(provider) ?? 0n) + PRICE)
  return [...owed].map(([provider, cumulativeAmount]) => ({ provider, cumulativeAmount }))
}

/** Opens a job the way a requester node does: a deposit first when the standing balance is short, then from the balance. */
async function open (requester: LedgerClient, tasks: number, headroomPercent: number) {
  const budget = PRICE * BigInt(tasks) * BigInt(100 + headroomPercent) / 100n
  const jobId = onchainJobId(requester.account.address, randomBytes(8).toString('hex'))
  const now = (await requester.public.getBlock()).timestamp
  const free = await readEscrowBalance(requester, requester.account.address)
  const deposit = depositDue(free, budget, DEFAULT_ESCROW_TOP_UP_WEI, (await readBalances(requester, requester.account.address)).con)
  const deposited = deposit > 0n ? Number((await depositToEscrow(requester, deposit)).gasUsed) : 0
  const opened = await openJobFromBalance(requester, { jobId, specHash: keccak256(toHex(tasks)), budget, deadline: now + 86_400n })
  return { jobKey: opened.jobKey, gas: Number(opened.gasUsed), deposit: deposited, deposited: deposit }
}

/** The old way, for comparison: the job's budget deposited by the job's own opening (a permit and a transfer). */
async function openWithPermit (requester: LedgerClient, tasks: number) {
  const jobId = onchainJobId(requester.account.address, randomBytes(8).toString('hex'))
  const now = (await requester.public.getBlock()).timestamp
  return Number((await openJob(requester, { jobId, specHash: keccak256(toHex(tasks)), budget: PRICE * BigInt(tasks), deadline: now + 86_400n })).gasUsed)
}

/**
 * Results accepted one at a time in `order`, reserving whenever the requester's policy says so,
 * with the room the node gives it (a budget above the job's cost is reserved ahead).
 */
async function reserveAsAccepted (requester: LedgerClient, jobKey: Hex, order: readonly Address[], headroomPercent = DEFAULT_HEADROOM) {
  const tasks = order.length
  const owed = new Map<Address, bigint>()
  const reserved = new Map<Address, bigint>()
  const most = PRICE * BigInt(tasks)
  const headroomWei = most * BigInt(headroomPercent) / 100n
  let gas = 0
  let count = 0
  for (let i = 0; i < tasks; i++) {
    const provider = order[i]!
    owed.set(provider, (owed.get(provider) ?? 0n) + PRICE)
    const due = reservationsDue(owed, reserved, PRICE, { headroomWei, remainingWei: most - PRICE * BigInt(i + 1) })
    if (due.length === 0) continue
    gas += Number((await reservePayments(requester, jobKey, due)).gasUsed)
    count++
    for (const { provider, amount } of due) reserved.set(provider, amount)
  }
  return { gas, count }
}

async function escrowJob (requester: LedgerClient, providers: readonly Address[], tasks: number, headroomPercent = DEFAULT_HEADROOM) {
  const { jobKey, gas: openGas, deposit, deposited } = await open(requester, tasks, headroomPercent)
  const order = resultOrder(providers, tasks)
  const reserved = await reserveAsAccepted(requester, jobKey, order, headroomPercent)
  const leaves = Array.from({ length: tasks }, (_, idx) => ({ idx, outcomeHash: keccak256(toHex(idx)) }))
  const settled = Number((await finalizeJob(requester, jobKey, await resultRoot(leaves), owedFor(order))).gasUsed)
  const refund = await refundUnearned(requester, jobKey)
  return { deposit, deposited, open: openGas, reserve: reserved.gas, reservations: reserved.count, settle: settled + refund, refunded: refund > 0 ? 1 : 0, total: openGas + reserved.gas + settled + refund }
}

/** Pay reserved ahead and never earned waits out the claim window: the chain's clock is moved past it and the refund sent, as the node does a day later. */
async function refundUnearned (requester: LedgerClient, jobKey: Hex): Promise<number> {
  const job = await readEscrowJob(requester, jobKey)
  if (job.closed || job.paid >= job.budget) return 0
  await requester.public.request({ method: 'evm_increaseTime' as never, params: [Number(await refundWait(requester, jobKey)) + 1] as never })
  await requester.public.request({ method: 'evm_mine' as never, params: [] as never })
  return Number((await refundJob(requester, jobKey)).gasUsed)
}

/**
 * Jobs of `tasks` run by a requester with nothing in the escrow, until its first deposit is spent,
 * then one more, which tops the balance up again: gas averaged per job, and both deposits (the
 * first also creates the requester's account in the escrow).
 */
async function jobsOfOneDeposit (requester: LedgerClient, providers: readonly Address[], tasks: number) {
  const jobs = [await escrowJob(requester, providers, tasks)]
  const budget = PRICE * BigInt(tasks) * BigInt(100 + DEFAULT_HEADROOM) / 100n
  while (await readEscrowBalance(requester, requester.account.address) >= budget) jobs.push(await escrowJob(requester, providers, tasks))
  const next = await escrowJob(requester, providers, tasks)
  const average = (pick: (job: typeof jobs[number]) => number) => jobs.reduce((sum, job) => sum + pick(job), 0) / jobs.length
  return { jobs: jobs.length, firstDeposit: jobs[0]!.deposit, topUp: next.deposit, deposited: jobs[0]!.deposited, open: average(job => job.open), settle: average(job => job.settle), reserve: average(job => job.reserve), reservations: average(job => job.reservations), refunded: jobs.reduce((sum, job) => sum + job.refunded, 0) }
}

async function transferPerTask (requester: LedgerClient, providers: readonly Address[], tasks: number) {
  let gas = 0
  for (let i = 0; i < tasks; i++) {
    const sent = await sendContract(requester, { address: chain.info.token, abi: conunTokenAbi, functionName: 'transfer', args: [providers[i % providers.length]!, PRICE] })
    gas += Number(sent.gasUsed)
  }
  return gas
}

/**
 * The same job paid the other way: reservations as above, each provider claims its last receipt
 * (paid up to its reservation), then the requester's settlement pays what was not yet reserved.
 */
async function providerClaims (requester: LedgerClient, requesterSecret: Uint8Array, providers: readonly LedgerClient[], tasks: number) {
  const { jobKey, gas: openGas } = await open(requester, tasks, DEFAULT_HEADROOM)
  const addresses = providers.map(p => p.account.address)
  const order = resultOrder(addresses, tasks)
  let gas = openGas + (await reserveAsAccepted(requester, jobKey, order)).gas
  const owed = owedFor(order)
  for (const { provider, cumulativeAmount } of owed) {
    const claimer = providers.find(p => p.account.address === provider)!
    const signature = signReceipt(requesterSecret, { chainId: chain.info.chainId, escrow: chain.info.escrow, jobKey, provider, cumulativeAmount })
    gas += Number((await claimPayment(claimer, { jobKey, provider, cumulativeAmount, signature })).gasUsed)
  }
  gas += Number((await finalizeJob(requester, jobKey, keccak256('0x01'), owed)).gasUsed)
  return gas
}
