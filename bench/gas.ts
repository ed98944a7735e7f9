// `npm run bench:gas`: what paying providers costs on chain. For jobs of 1, 100 and 1,000 tasks
// whose results come back in a random order from 3 providers working at paces 1:2:4, the gas of
// conun's escrow (a job opens with no transaction when its budget is free in the requester's
// standing balance, topped up by a deposit with a permit when it runs short; what providers are
// owed is reserved on their payment lines as results are accepted, ahead within what of the job's
// budget is not owed yet; cumulative receipts are signed off chain; one settlement pays everyone and
// reserves each line ahead by what its provider earned, for the provider's next job) beside the naive way (one
// ERC-20 transfer per task), both measured on the same dev chain in this run. The transactions are
// the very ones a requester node sends (src/ledger), reserving and depositing when its own policies
// do (lineReservationsDue, reservesAtSettlement, depositDue with the default top-up), not estimates.
import { randomBytes } from 'node:crypto'
import { keccak256, parseEther, toHex } from 'viem'
import { claimPayment, conunTokenAbi, createLedgerClient, depositToEscrow, formatCon, fundFromFaucet, onchainJobId, readBalances, readEscrowBalance, reserveLines, resultRoot, sendContract, settleJob, signReceipt, startDevChain } from '../src/ledger/index.ts'
import { DEFAULT_ESCROW_TOP_UP_WEI, depositDue, drawnAtSettlement, HEADROOM_PERCENT, lineReservationsDue, RESERVE_EVERY_RESULTS, reservesAtSettlement } from '../src/requester/index.ts'
import type { LedgerClient } from '../src/ledger/index.ts'
import type { Address } from 'viem'

const PRICE = parseEther('0.01')
const SIZES = [1, 100, 1000]
/** A job's budget above its cost when its spec sets none, as a requester node opens it. */
const DEFAULT_HEADROOM = Number(HEADROOM_PERCENT)
/** How fast each provider returns results, relative to the others: real grids are uneven. */
const PACES = [1, 2, 4]
let seed = 1
/** A seeded generator (the same figures every run), shared by every job of the run. */
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31

/** A requester as its node keeps it: its key, and what it owes and has reserved on each payment line. */
interface Requester {
  readonly client: LedgerClient
  readonly secret: Uint8Array
  readonly owed: Map<Address, bigint>
  readonly reserved: Map<Address, bigint>
}

/** One job's gas: deposits (when the balance ran short), reservations, the settlement. */
interface JobGas {
  readonly deposit: number
  readonly deposited: bigint
  readonly reserve: number
  readonly reservations: number
  readonly settle: number
  readonly total: number
}

const chain = await startDevChain()
try {
  const account = async (secret = randomBytes(32)) => {
    const client = createLedgerClient(chain.info, secret)
    await fundFromFaucet(chain.info, client.account.address)
    return client
  }
  const newRequester = async (): Promise<Requester> => {
    const secret = randomBytes(32)
    return { client: await account(secret), secret, owed: new Map(), reserved: new Map() }
  }
  // Providers that already hold CON, as any provider does after its first payment.
  const providers = await Promise.all([account(), account(), account()])
  const addresses = providers.map(p => p.account.address)

  // Each size on lines of its own, new to the providers: the first job with a provider writes its line.
  const rows = []
  for (const tasks of SIZES) {
    const conun = await paidJob(await newRequester(), addresses, tasks)
    const naive = await transferPerTask((await newRequester()).client, addresses, tasks)
    rows.push({ tasks, ...conun, naive })
  }

  console.log(`gas to pay 3 providers ${formatCon(PRICE)} per task (dev chain ${chain.info.chainId}), results coming back in a random order at paces ${PACES.join(':')}; a reservation once a provider is owed ${RESERVE_EVERY_RESULTS} results beyond its line's, ahead within the job's budget (${DEFAULT_HEADROOM} % above its cost by default); the standing balance topped up by ${formatCon(DEFAULT_ESCROW_TOP_UP_WEI)} when short\n`)
  console.log('a requester\'s first job with these providers (its payment lines are new):\n')
  console.log('| tasks | conun: deposit + reserve + settle (gas) | reservations | conun gas / task | of which paying providers (reserve + settle) | naive: a transfer per task (gas) | naive gas / task | conun cheaper by (all / paying only) |')
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const row of rows) {
    const paying = row.reserve + row.settle
    console.log(`| ${row.tasks.toLocaleString('en')} | ${row.total.toLocaleString('en')} (${row.deposit.toLocaleString('en')} + ${row.reserve.toLocaleString('en')} + ${row.settle.toLocaleString('en')}) | ${row.reservations} | ${(row.total / row.tasks).toFixed(1)} | ${(paying / row.tasks).toFixed(1)} / task | ${row.naive.toLocaleString('en')} | ${(row.naive / row.tasks).toFixed(0)} | ${times(row.naive / row.total)} / ${times(row.naive / paying)} |`)
  }

  // The steady state, as the node pays it: one requester runs 1,000-task jobs with the same
  // providers until its first top-up is spent, then one more, which tops the balance up again.
  const series = await jobsOfOneDeposit(await newRequester(), addresses, 1000)
  const naive = rows.at(-1)!.naive
  const perTask = (gas: number) => `${(gas / 1000).toFixed(1)} gas/task`
  console.log(`\nthe same requester's next jobs: a deposit of ${formatCon(series.deposited)} (the default top-up) funded ${series.jobs} jobs of 1,000 tasks, run here one after another, each settled for ${series.settle.toLocaleString('en')} gas with ${series.reservations.toFixed(1)} reservations (${series.reserve.toLocaleString('en')} gas) on average after the first; opening a job costs nothing; the next top-up cost ${series.topUp.toLocaleString('en')} gas`)
  const claimer = await newRequester()
  await paidJob(claimer, addresses, 1000)
  const claimed = await paidJob(claimer, addresses, 1000, providers)
  console.log(`if providers claim themselves instead (each line reserved up to what it is owed, 3 claims of the last receipts, then a settlement that pays nothing more): ${claimed.settle.toLocaleString('en')} gas to pay a 1,000-task job on lines that exist, ${perTask(claimed.settle)}, against ${perTask(series.settle)}`)

  const deposit = series.topUp / series.jobs
  console.log('\ngoal: ≤ 100 gas/task at 1,000 tasks for open + settle with the deposit counted, and ≥ 300× cheaper than the naive way')
  console.log(`  open (no transaction) + settle:     ${perTask(series.settle)}`)
  console.log(`  with the escrow deposit as well:    ${perTask(series.settle + deposit)}, ${(naive / (series.settle + deposit)).toFixed(0)}× cheaper (a top-up amortised over the ${series.jobs} jobs it funds)`)
  console.log(`  everything, reservations included:  ${perTask(series.settle + deposit + series.reserve)} (${series.reservations.toFixed(1)} reservations per job), ${(naive / (series.settle + deposit + series.reserve)).toFixed(0)}× cheaper`)
  console.log(`  a requester's first job with these providers, everything: ${perTask(rows.at(-1)!.total)} (its deposit ${rows.at(-1)!.deposit.toLocaleString('en')} gas and three new lines counted whole)`)
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

/** Deposits when less than `wei` of the standing balance is free, as the node does: gas and amount. */
async function ensureFree (requester: Requester, wei: bigint): Promise<{ gas: number, deposited: bigint }> {
  const address = requester.client.account.address
  const deposit = depositDue(await readEscrowBalance(requester.client, address), wei, DEFAULT_ESCROW_TOP_UP_WEI, (await readBalances(requester.client, address)).con)
  return deposit === 0n ? { gas: 0, deposited: 0n } : { gas: Number((await depositToEscrow(requester.client, deposit)).gasUsed), deposited: deposit }
}

/**
 * A paid job as the node runs it: its budget free in the balance; results accepted one at a time in
 * a random order, reserving on the lines whenever the requester's policy says so; one settlement.
 * With `claimers`, each provider first claims its last receipt itself (counted in the settlement).
 */
async function paidJob (requester: Requester, providers: readonly Address[], tasks: number, claimers?: readonly LedgerClient[]): Promise<JobGas> {
  const most = PRICE * BigInt(tasks)
  const budget = most * BigInt(100 + DEFAULT_HEADROOM) / 100n
  const opened = await ensureFree(requester, budget)
  let deposit = opened.gas
  let reserve = 0
  let reservations = 0
  const earned = new Map<Address, bigint>()
  const order = resultOrder(providers, tasks)
  for (const [i, provider] of order.entries()) {
    earned.set(provider, (earned.get(provider) ?? 0n) + PRICE)
    requester.owed.set(provider, (requester.owed.get(provider) ?? 0n) + PRICE)
    const due = lineReservationsDue(earned, requester.owed, requester.reserved, PRICE, { headroomWei: budget - PRICE * BigInt(i + 1), remainingWei: most - PRICE * BigInt(i + 1) })
    if (due.length === 0) continue
    deposit += (await ensureFree(requester, due.reduce((sum, { provider, amount }) => sum + amount - (requester.reserved.get(provider) ?? 0n), 0n))).gas
    reserve += Number((await reserveLines(requester.client, due)).gasUsed)
    reservations++
    for (const { provider, amount } of due) requester.reserved.set(provider, amount)
  }
  const owed = [...earned.keys()].map(provider => ({ provider, cumulativeAmount: requester.owed.get(provider)! }))
  deposit += (await ensureFree(requester, drawnAtSettlement(new Map(owed.map(({ provider, cumulativeAmount }) => [provider, cumulativeAmount])), requester.reserved))).gas
  let claims = 0
  if (claimers !== undefined) {
    const short = owed.filter(({ provider, cumulativeAmount }) => cumulativeAmount > (requester.reserved.get(provider) ?? 0n)).map(({ provider, cumulativeAmount }) => ({ provider, amount: cumulativeAmount }))
    if (short.length > 0) {
      reserve += Number((await reserveLines(requester.client, short)).gasUsed)
      reservations++
    }
    const from = requester.client.account.address
    for (const { provider, cumulativeAmount } of owed) {
      const signature = signReceipt(requester.secret, { chainId: chain.info.chainId, escrow: chain.info.escrow, requester: from, provider, cumulativeAmount })
      claims += Number((await claimPayment(claimers.find(p => p.account.address === provider)!, { requester: from, provider, cumulativeAmount, signature })).gasUsed)
    }
  }
  const leaves = Array.from({ length: tasks }, (_, idx) => ({ idx, outcomeHash: keccak256(toHex(idx)) }))
  const jobId = onchainJobId(requester.client.account.address, randomBytes(8).toString('hex'))
  const reserves = reservesAtSettlement(earned, requester.owed, requester.reserved, PRICE, await readEscrowBalance(requester.client, requester.client.account.address))
  const settle = claims + Number((await settleJob(requester.client, jobId, await resultRoot(leaves), owed.map(entry => ({ ...entry, reserveTo: reserves.get(entry.provider)! })))).gasUsed)
  for (const [provider, amount] of reserves) requester.reserved.set(provider, amount)
  return { deposit, deposited: opened.deposited, reserve, reservations, settle, total: deposit + reserve + settle }
}

/**
 * Jobs of `tasks` run by a requester until its first deposit is spent, then one more, which tops
 * the balance up again: gas averaged over the jobs after the first (whose lines are new), and the top-up.
 */
async function jobsOfOneDeposit (requester: Requester, providers: readonly Address[], tasks: number) {
  const first = await paidJob(requester, providers, tasks)
  const budget = PRICE * BigInt(tasks) * BigInt(100 + DEFAULT_HEADROOM) / 100n
  const jobs = [first]
  while (await readEscrowBalance(requester.client, requester.client.account.address) >= budget) jobs.push(await paidJob(requester, providers, tasks))
  const next = await paidJob(requester, providers, tasks)
  const later = [...jobs.slice(1), next]
  const average = (pick: (job: JobGas) => number) => later.reduce((sum, job) => sum + pick(job), 0) / later.length
  return { jobs: jobs.length, deposited: first.deposited, topUp: next.deposit, settle: average(job => job.settle), reserve: average(job => job.reserve), reservations: average(job => job.reservations) }
}

async function transferPerTask (requester: LedgerClient, providers: readonly Address[], tasks: number) {
  let gas = 0
  for (let i = 0; i < tasks; i++) {
    const sent = await sendContract(requester, { address: chain.info.token, abi: conunTokenAbi, functionName: 'transfer', args: [providers[i % providers.length]!, PRICE] })
    gas += Number(sent.gasUsed)
  }
  return gas
}

/** A ratio as the table prints it: one decimal below 10. */
function times (ratio: number): string {
  return `${ratio.toFixed(ratio < 10 ? 1 : 0)}×`
}
