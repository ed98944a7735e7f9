// Payments end to end on the real dev chain, with real node processes: providers end with exactly
// what their accepted results earned, a provider killed mid-job still gets every receipt paid after
// its restart, a lying provider is never paid for a rejected result, a requester that never pays
// gets only a bounded number of results, and pay reserved ahead on a payment line is used by the
// next job or taken back after the release notice.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { parseEther } from 'viem'
import { startLocalGrid, startNodeProcess, stopNode } from '../src/devnet/index.ts'
import { createLedgerClient, fundFromFaucet, readBalances, readEscrowBalance, readLine, startDevChain } from '../src/ledger/index.ts'
import { MAX_UNPAID_RESULTS } from '../src/net/index.ts'
import { settlementMargin } from '../src/requester/index.ts'
import { buildExamples } from '../scripts/build-examples.ts'
import { primeRanges, primeTaskArgs } from '../examples/primes/primes.ts'
import { isSettled, tempDir, waitFor } from './helpers.ts'
import type { DevChain } from '../src/ledger/index.ts'
import type { GridNode, LocalGrid } from '../src/devnet/index.ts'
import type { NodeEvent } from '../src/sdk/index.ts'
import type { Address } from 'viem'

const LIAR = join(import.meta.dirname, 'fixtures', 'lyingProvider.ts')
const WITHHOLDER = join(import.meta.dirname, 'fixtures', 'withholdingRequester.ts')
const PRICE = '0.01'

async function conOf (grid: LocalGrid, address: string): Promise<bigint> {
  const reader = createLedgerClient(grid.chain.info, new Uint8Array(32).fill(1))
  return (await readBalances(reader, address as Address)).con
}

/** Accepted results per provider address, as the requester recorded them. */
function acceptedBy (tasks: ReadonlyArray<{ state: string, providerAddress: string | null }>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const task of tasks) if (task.state === 'done' && task.providerAddress !== null) counts.set(task.providerAddress.toLowerCase(), (counts.get(task.providerAddress.toLowerCase()) ?? 0) + 1)
  return counts
}

test('a paid job: receipts per accepted result on payment lines, one settlement pays every provider exactly', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  // provider-1 claims by itself during the job (low threshold); it is killed mid-job and restarted.
  const grid = await startLocalGrid({ providers: 2, coresPerProvider: 1, providerFlags: ['--price', '0.005'] })
  t.after(() => grid.stop())
  let claimer = await grid.addProvider({ flags: ['--claim-threshold', '0.05'] })
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 3, 30_000, 'three offers')
  const providers = [...grid.providers, claimer]
  const before = new Map(await Promise.all([grid.requester, ...providers].map(async node => [node.address.toLowerCase(), await conOf(grid, node.address)] as const)))

  const ranges = primeRanges(400_000_000, 80)
  // The budget at the cost: what is reserved ahead during the job is within what it still owes.
  const submitted = await client.submitJob({ name: 'paid primes', runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), price: PRICE, budget: '0.8' })
  const jobId = submitted.job.id
  const opened = await client.job(jobId)
  assert.equal(opened.payment?.state, 'open')
  assert.equal(opened.payment?.escrowWei, String(parseEther(PRICE) * 80n))

  // Kill the self-claiming provider once it holds receipts, then bring it back on its data dir.
  await waitFor(async () => (await claimer.client.wallet()).receipts.some(receipt => BigInt(receipt.cumulativeWei) >= parseEther('0.05')), 120_000, 'provider-3 to hold receipts')
  claimer.process.kill('SIGKILL')
  await claimer.exited
  claimer = await grid.restart(claimer)

  await waitFor(async () => (await client.job(jobId)).payment?.state === 'finalized', 240_000, 'the job to be settled')
  const results = await client.results(jobId)
  assert.equal(results.job.state, 'completed')
  const accepted = acceptedBy(results.tasks)
  const price = parseEther(PRICE)
  const status = (await client.job(jobId)).payment!
  assert.equal(status.owedWei, String(price * 80n))
  assert.equal(status.paidWei, String(price * 80n))
  assert.ok(status.txCount > 1, 'reservations were made as results were accepted, before the settlement')
  const reader = createLedgerClient(grid.chain.info, new Uint8Array(32).fill(1))
  // The settlement reserved each line ahead by what its provider earned and a margin: a next job
  // like this one needs no reservation.
  let ahead = 0n
  for (const node of providers) {
    const line = await readLine(reader, grid.requester.address as Address, node.address as Address)
    const earned = price * BigInt(accepted.get(node.address.toLowerCase()) ?? 0)
    const margin = price * BigInt(settlementMargin(accepted.get(node.address.toLowerCase()) ?? 0))
    assert.deepEqual([line.paid, line.reserved], [earned, earned * 2n + margin], `${node.name}'s line: paid what it earned, and as much and a margin reserved ahead`)
    ahead += line.reserved - line.paid
  }

  // Each provider is paid for exactly its accepted results, whether it claimed or the settlement paid.
  for (const node of providers) {
    const earned = price * BigInt(accepted.get(node.address.toLowerCase()) ?? 0)
    await waitFor(async () => (await conOf(grid, node.address)) - before.get(node.address.toLowerCase())! === earned, 60_000, `${node.name} to be paid ${earned}`)
  }
  // The job drew on the requester's standing balance, topped up by one deposit; what the job did
  // not pay is still the requester's, free in the escrow or reserved ahead on the lines.
  const free = await readEscrowBalance(reader, grid.requester.address as Address)
  assert.ok(free > 0n, 'the top-up left a free balance for the next jobs')
  assert.equal((await client.wallet()).escrowFreeWei, String(free))
  assert.equal(before.get(grid.requester.address.toLowerCase())! - await conOf(grid, grid.requester.address) - free - ahead, price * 80n, 'the requester paid the job and the rest is its own')
  const restarted = await claimer.client.wallet()
  const held = restarted.receipts.find(receipt => receipt.jobId === jobId)
  assert.ok(held !== undefined, 'the restarted provider still has its receipt')
  await waitFor(async () => (await claimer.client.wallet()).receipts.find(receipt => receipt.jobId === jobId)?.state === 'settled', 60_000, 'provider-3 to see its receipt settled')
  assert.ok((accepted.get(claimer.address.toLowerCase()) ?? 0) > 0, 'the restarted provider did work')
})

test('no payment for rejected results: a lying provider earns nothing, honest ones are paid', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const grid = await startLocalGrid({ providers: 2, coresPerProvider: 1 })
  t.after(() => grid.stop())
  const liar = await grid.addProvider({ entry: LIAR, flags: ['--lie-rate', '1'] })
  const client = grid.requester.client
  await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 3, 30_000, 'three offers')
  const nodes = [...grid.providers, liar]
  const before = new Map(await Promise.all(nodes.map(async node => [node.name, await conOf(grid, node.address)] as const)))
  const ranges = primeRanges(60_000_000, 30)
  const submitted = await client.submitJob({ name: 'paid, replicated', runtime: 'wasi', module: primesModule, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), price: PRICE, replication: 2, quorum: 2, maxAttempts: 4 })
  await waitFor(async () => isSettled((await client.job(submitted.job.id)).payment?.state), 240_000, 'the job to be settled')
  const peers = new Map((await client.peers()).map(peer => [peer.peerId, peer.reputation]))
  assert.ok((peers.get(liar.peerId)?.invalid ?? 0) > 0, 'the liar was caught')
  assert.equal(await conOf(grid, liar.address), before.get(liar.name), 'the liar was paid nothing')
  const price = parseEther(PRICE)
  for (const node of grid.providers) {
    const valid = BigInt(peers.get(node.peerId)?.valid ?? 0)
    assert.equal(await conOf(grid, node.address) - before.get(node.name)!, price * valid, `${node.name} is paid for each valid result`)
  }
})

test('a requester that never sends receipts gets at most MAX_UNPAID_RESULTS results (plus what runs) before its provider holds its tasks', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const grid = await startLocalGrid({ providers: 1, coresPerProvider: 1 })
  t.after(() => grid.stop())
  const provider = grid.providers[0]!
  // The withholding requester joins like any node (through the grid's requester, which stays idle).
  const withholder = await grid.addProvider({ entry: WITHHOLDER })
  const events: NodeEvent[] = []
  const stopEvents = await provider.client.events(event => events.push(event))
  t.after(stopEvents)
  await waitFor(async () => (await withholder.client.peers()).some(peer => peer.peerId === provider.peerId && peer.offer !== null), 30_000, 'the provider\'s offer')

  const tasks = MAX_UNPAID_RESULTS * 2
  const submitted = await withholder.client.submitJob({ name: 'never paid', runtime: 'wasi', module: primesModule, tasks: primeRanges(tasks * 100_000, tasks).map(range => ({ args: primeTaskArgs(range) })), price: PRICE })
  const bound = MAX_UNPAID_RESULTS + 1
  await waitFor(() => events.some(event => event.type === 'payment.awaited'), 120_000, 'the provider to hold the requester\'s tasks')
  await waitFor(async () => (await withholder.client.job(submitted.job.id)).counts.done >= bound, 60_000, `${bound} results`)
  const status = await withholder.client.job(submitted.job.id)
  assert.equal(status.job.state, 'running', 'the job cannot finish on this provider')
  assert.equal(status.counts.done, bound, 'exactly MAX_UNPAID_RESULTS results plus the one that ran')
  const held = (await provider.client.node()).provider!
  assert.equal(held.completed, bound)
  assert.ok(held.queued > 0, 'the requester\'s further tasks wait at the provider')
  assert.equal(events.filter(event => event.type === 'task.started').length, bound, 'no task started after the provider stopped')
  assert.equal((await provider.client.wallet()).receipts.length, 0, 'not one receipt came')
})

test('a budget above the cost is reserved ahead; what a provider that stopped never earned stays on its line, and a release after the notice, also across a restart, takes it back', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const grid = await startLocalGrid({ providers: 3, coresPerProvider: 1 })
  t.after(() => grid.stop())
  let requester = grid.requester
  const reader = createLedgerClient(grid.chain.info, new Uint8Array(32).fill(1))
  await waitFor(async () => (await requester.client.peers()).filter(peer => peer.offer !== null).length === 3, 30_000, 'three offers')
  const price = parseEther(PRICE)
  const tasks = 120
  // What the requester holds, in its wallet and free in the escrow: only what providers earn leaves it.
  const holdings = async () => await conOf(grid, requester.address) + await readEscrowBalance(reader, requester.address as Address)
  const lineTo = (node: { address: string }) => readLine(reader, requester.address as Address, node.address as Address)
  const before = new Map(await Promise.all(grid.providers.map(async node => [node.name, await conOf(grid, node.address)] as const)))
  const heldBefore = await holdings()
  const submitted = await requester.client.submitJob({ name: 'reserved ahead', runtime: 'wasi', module: primesModule, tasks: primeRanges(240_000_000, tasks).map(range => ({ args: primeTaskArgs(range) })), price: PRICE, budget: '1.8' })
  const jobId = submitted.job.id

  // One provider stops for good after its first accepted result: the reservations made later still
  // give it pay ahead, its share of the work left in proportion to its results, which it never earns.
  const stopped = grid.providers[2]!
  await waitFor(async () => acceptedBy((await requester.client.results(jobId)).tasks).has(stopped.address.toLowerCase()), 120_000, `${stopped.name}'s first result`)
  stopped.process.kill('SIGKILL')
  await stopped.exited
  const earned = async () => price * BigInt(acceptedBy((await requester.client.results(jobId)).tasks).get(stopped.address.toLowerCase()) ?? 0)
  await waitFor(async () => (await lineTo(stopped)).reserved > await earned(), 120_000, `pay reserved ahead for ${stopped.name}`)

  await waitFor(async () => isSettled((await requester.client.job(jobId)).payment?.state), 240_000, 'the job to be settled')
  const accepted = acceptedBy((await requester.client.results(jobId)).tasks)
  assert.equal([...accepted.values()].reduce((sum, n) => sum + n, 0), tasks)
  for (const node of grid.providers) {
    assert.equal(await conOf(grid, node.address) - before.get(node.name)!, price * BigInt(accepted.get(node.address.toLowerCase()) ?? 0), `${node.name} is paid for exactly its accepted results`)
  }
  const left = async () => {
    let sum = 0n
    for (const node of grid.providers) { const line = await lineTo(node); sum += line.reserved - line.paid }
    return sum
  }
  const leftOver = await left()
  assert.ok(leftOver > 0n, 'pay reserved for the stopped provider stays on its line')
  assert.equal(await holdings(), heldBefore - price * BigInt(tasks) - leftOver)

  // The requester takes it back: the release is announced now, and done a day later (by the
  // chain's clock) by a restarted requester.
  const announced = await requester.client.releaseLines()
  assert.ok(announced.lines.some(line => line.provider.toLowerCase() === stopped.address.toLowerCase() && line.state === 'announced'), 'the stopped provider\'s line is announced for release')
  await reader.public.request({ method: 'evm_increaseTime' as never, params: [86_400 + 60] as never })
  await reader.public.request({ method: 'evm_mine' as never, params: [] as never })
  requester.process.kill('SIGKILL')
  await requester.exited
  requester = await grid.restart(requester)
  const released = await requester.client.releaseLines()
  assert.ok(released.lines.every(line => line.state === 'released'), JSON.stringify(released.lines))
  assert.equal(await left(), 0n)
  assert.equal(await holdings(), heldBefore - price * BigInt(tasks), 'the requester paid exactly what its providers earned')
})

test('a paid job that was never stored (the requester died in between) is done at restart with nothing owed, and the node starts', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const grid = await startLocalGrid({ providers: 0, coresPerProvider: 1 })
  t.after(() => grid.stop())
  let requester = grid.requester
  const reader = createLedgerClient(grid.chain.info, new Uint8Array(32).fill(1))
  // A paid job no provider can take.
  const submitted = await requester.client.submitJob({ name: 'orphan', runtime: 'wasi', module: primesModule, tasks: [{ args: primeTaskArgs({ from: 0, to: 100 }) }], price: PRICE, constraints: { providers: ['12D3KooWNobodyNobodyNobodyNobodyNobodyNobodyNobody1'] } })
  const free = await readEscrowBalance(reader, requester.address as Address)
  // The state a SIGKILL between checking the job's budget and storing the job leaves: the payment row only.
  requester.process.kill('SIGKILL')
  await requester.exited
  const db = new DatabaseSync(join(requester.dataDir, 'conun.db'))
  for (const table of ['attempts', 'outputs', 'tasks']) db.prepare(`DELETE FROM ${table} WHERE job_id = ?`).run(submitted.job.id)
  db.prepare('DELETE FROM jobs WHERE id = ?').run(submitted.job.id)
  db.close()

  requester = await grid.restart(requester)
  assert.equal((await requester.client.jobs()).some(job => job.job.id === submitted.job.id), false)
  const row = () => {
    const reopened = new DatabaseSync(join(requester.dataDir, 'conun.db'), { readOnly: true })
    try {
      return reopened.prepare('SELECT state, paid_wei FROM escrows WHERE job_id = ?').get(submitted.job.id)
    } finally {
      reopened.close()
    }
  }
  assert.deepEqual({ ...row() }, { state: 'finalized', paid_wei: '0' }, 'the orphan is done with nothing paid')
  assert.equal(await readEscrowBalance(reader, requester.address as Address), free, 'nothing was locked for it, and nothing moved')
})

test('nodes started again on a fresh dev chain with their data dirs pay the next job exactly, and an old job that was not settled says its chain is gone', async (t) => {
  const primesModule = (await buildExamples()).find(path => path.endsWith('primes.wasm'))!
  const root = await tempDir('fresh-chain')
  const nodes: GridNode[] = []
  const chains: DevChain[] = []
  t.after(async () => {
    await Promise.all(nodes.map(stopNode))
    for (const chain of chains) await chain.close()
  })
  // A requester and a provider on a dev chain, on data dirs that outlive it.
  const grid = async () => {
    const chain = await startDevChain()
    chains.push(chain)
    const flags = ['--rpc', chain.info.rpcUrl, '--token', chain.info.token, '--escrow', chain.info.escrow]
    const requester = await startNodeProcess('requester', join(root, 'requester'), flags)
    const provider = await startNodeProcess('provider', join(root, 'provider'), [...flags, '--provide', '--cores', '1', ...requester.multiaddrs.filter(addr => !addr.includes('/ws')).flatMap(addr => ['--bootstrap', addr])])
    nodes.push(requester, provider)
    for (const node of [requester, provider]) await fundFromFaucet(chain.info, node.address as Address)
    await waitFor(async () => (await requester.client.peers()).some(peer => peer.offer !== null), 30_000, 'the provider\'s offer')
    const conOf = async (node: GridNode) => (await readBalances(createLedgerClient(chain.info, new Uint8Array(32).fill(1)), node.address as Address)).con
    return { chain, requester, provider, conOf }
  }
  const job = (tasks: number) => ({ name: 'paid', runtime: 'wasi', module: primesModule, tasks: primeRanges(tasks * 1_000_000, tasks).map(range => ({ args: primeTaskArgs(range) })), price: PRICE })
  const price = parseEther(PRICE)

  const first = await grid()
  const settled = await first.requester.client.submitJob(job(20))
  await waitFor(async () => isSettled((await first.requester.client.job(settled.job.id)).payment?.state), 120_000, 'the first job to be settled')
  // A paid job no provider can take: still open when the chain goes.
  const stranded = await first.requester.client.submitJob({ ...job(1), constraints: { providers: ['12D3KooWNobodyNobodyNobodyNobodyNobodyNobodyNobody1'] } })
  await Promise.all(nodes.splice(0).map(stopNode))
  await chains.pop()!.close()

  const second = await grid()
  const before = await second.conOf(second.provider)
  const next = await second.requester.client.submitJob(job(30))
  await waitFor(async () => isSettled((await second.requester.client.job(next.job.id)).payment?.state), 120_000, 'the next job to be settled')
  assert.equal(await second.conOf(second.provider) - before, price * 30n, 'the provider is paid for the next job only')
  const line = await readLine(createLedgerClient(second.chain.info, new Uint8Array(32).fill(1)), second.requester.address as Address, second.provider.address as Address)
  assert.equal(line.paid, price * 30n, 'the new line counts the next job only')
  // The provider sees its receipt paid once its claim delay is over.
  await waitFor(async () => (await second.provider.client.wallet()).receipts.every(receipt => receipt.state === 'settled'), 60_000, 'the provider to see its receipt paid')
  const held = (await second.provider.client.wallet()).receipts
  assert.deepEqual(held.map(receipt => [receipt.jobId, receipt.cumulativeWei, receipt.state]), [[next.job.id, String(price * 30n), 'settled']], 'the provider holds the new line\'s receipt only')
  const old = (await second.requester.client.job(stranded.job.id)).payment
  assert.equal(old?.state, 'finalize-failed')
  assert.match(old?.error ?? '', /escrow deployment that was to pay it is gone/)
})
