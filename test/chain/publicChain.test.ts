// conun on a chain it does not run itself: anvil, Foundry's dev chain, in its own process. The
// contracts are deployed with `conun chain deploy`, nodes join with `--chain chain.json`, and a paid
// job with three providers settles with every balance exact: mined at once, and with blocks every
// second and two confirmations, across a reorg that drops the settlement, across one that removes
// the reservations on the providers' payment lines mid-job, and across the RPC endpoint stopping
// mid-job. The devnet passphrase is refused there.
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { access, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatEther, parseEther } from 'viem'
import { buildExamples } from '../../scripts/build-examples.ts'
import { primeRanges, primeTaskArgs } from '../../examples/primes/primes.ts'
import { startNodeProcess, stopNode } from '../../src/devnet/index.ts'
import { createLedgerClient, readBalances, readEscrowBalance, readLine } from '../../src/ledger/index.ts'
import { chainInfoOf, readChainFile } from '../../src/node/index.ts'
import { conun, tempDir, waitFor } from '../helpers.ts'
import { startAnvil } from './anvil.ts'
import type { Anvil, AnvilOptions } from './anvil.ts'
import type { GridNode } from '../../src/devnet/index.ts'
import type { NodeEvent } from '../../src/sdk/index.ts'
import type { Address } from 'viem'

const PRICE = '0.01'
const TASKS = 12
const [primes] = (await buildExamples({ log: () => {} })).filter(path => path.endsWith('primes.wasm'))

/** A key's passphrase for these tests: never the devnet one, which anvil's chain must refuse. */
async function passphraseFile (dir: string): Promise<string> {
  const path = join(dir, 'passphrase')
  await writeFile(path, 'anvil test passphrase, not for real funds\n')
  return path
}

async function giveEth (anvil: Anvil, address: string): Promise<void> {
  await anvil.rpc('anvil_setBalance', [address, `0x${parseEther('100').toString(16)}`])
}

/** `conun chain deploy` from a fresh node key: refused until the key has gas, then chain.json. */
async function deploy (anvil: Anvil, dir: string, confirmations: number): Promise<string> {
  const out = join(dir, 'chain.json')
  const args = ['chain', 'deploy', '--rpc', anvil.rpcUrl, '--data-dir', join(dir, 'requester'), '--passphrase-file', await passphraseFile(dir), '--out', out, '--confirmations', String(confirmations), '--json']
  const broke = await conun(args)
  assert.equal(broke.code, 1, broke.stderr)
  const deployer = /account (0x[0-9a-fA-F]{40}) has no ETH/.exec(broke.stderr)?.[1]
  assert.ok(deployer !== undefined, broke.stderr)
  await giveEth(anvil, deployer)
  const deployed = await conun(args)
  assert.equal(deployed.code, 0, deployed.stderr)
  const printed = JSON.parse(deployed.stdout) as { deployer: string, tokenDeployed: boolean, deploymentBlock: number, escrow: string }
  assert.equal(printed.deployer, deployer)
  assert.equal(printed.tokenDeployed, true)
  const file = await readChainFile(out)
  assert.equal(file.escrow, printed.escrow)
  assert.equal(file.chainId, 31337, 'anvil\'s chain id, the same as the embedded dev chain\'s')
  assert.ok(file.deploymentBlock > 0)
  return out
}

/** A requester (the deployer, holding all CON) and three providers asking PRICE a task, all joined with --chain. */
async function gridOn (anvil: Anvil, dir: string, chainJson: string, confirmations: number): Promise<{ requester: GridNode, providers: GridNode[], stop: () => Promise<void> }> {
  const nodes: GridNode[] = []
  const flags = ['--chain', chainJson, '--passphrase-file', await passphraseFile(dir), '--confirmations', String(confirmations)]
  const stop = () => Promise.all(nodes.map(stopNode)).then(() => {})
  try {
    const requester = await startNodeProcess('requester', join(dir, 'requester'), flags, { devnet: false })
    nodes.push(requester)
    const bootstrap = requester.multiaddrs.filter(addr => !addr.includes('/ws')).flatMap(addr => ['--bootstrap', addr])
    const providers = await Promise.all([1, 2, 3].map(async i => {
      const node = await startNodeProcess(`provider-${i}`, join(dir, `provider-${i}`), [...flags, '--provide', '--cores', '1', '--price', PRICE, ...bootstrap], { devnet: false })
      nodes.push(node)
      await giveEth(anvil, node.address)
      return node
    }))
    await waitFor(async () => (await requester.client.peers()).filter(peer => peer.offer !== null).length === 3, 30_000, 'three offers')
    return { requester, providers, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * A paid job over all three providers; every provider ends with exactly what its accepted results
 * earned. `whileRunning` does what it will to the chain once the job is under way.
 */
async function paidJobSettlesExactly (chainJson: string, grid: { requester: GridNode, providers: GridNode[] }, job: { tasks: number, limit: number, whileRunning?: (jobId: string) => Promise<void> } = { tasks: TASKS, limit: 60_000_000 }): Promise<void> {
  const reader = createLedgerClient(chainInfoOf(await readChainFile(chainJson)), new Uint8Array(32).fill(1))
  const conOf = async (node: GridNode) => (await readBalances(reader, node.address as Address)).con
  // A requester's CON is in its wallet, free in its standing balance in the escrow, or reserved
  // and unpaid on its payment lines (a settlement reserves ahead for each provider's next job).
  const requesterCon = async () => {
    let held = await conOf(grid.requester) + await readEscrowBalance(reader, grid.requester.address as Address)
    for (const node of grid.providers) { const line = await readLine(reader, grid.requester.address as Address, node.address as Address); held += line.reserved - line.paid }
    return held
  }
  const before = new Map(await Promise.all(grid.providers.map(async node => [node.name, await conOf(node)] as const)))
  const requesterBefore = await requesterCon()
  const client = grid.requester.client
  // The budget at the cost: the smallest a job may have.
  const budget = formatEther(parseEther(PRICE) * BigInt(job.tasks))
  const submitted = await client.submitJob({ name: 'paid primes on anvil', runtime: 'wasi', module: primes!, tasks: primeRanges(job.limit, job.tasks).map(range => ({ args: primeTaskArgs(range) })), price: PRICE, budget })
  await job.whileRunning?.(submitted.job.id)
  await waitFor(async () => (await client.job(submitted.job.id)).payment?.state === 'finalized', 180_000, 'the job to be settled')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'completed')
  const price = parseEther(PRICE)
  const payment = (await client.job(submitted.job.id)).payment!
  assert.equal(payment.paidWei, String(price * BigInt(job.tasks)))
  for (const node of grid.providers) {
    const accepted = results.tasks.filter(task => task.state === 'done' && task.providerAddress?.toLowerCase() === node.address.toLowerCase()).length
    await waitFor(async () => (await conOf(node)) - before.get(node.name)! === price * BigInt(accepted), 60_000, `${node.name} to be paid for ${accepted} results`)
  }
  assert.equal(requesterBefore - await requesterCon(), price * BigInt(job.tasks), 'the requester paid the job and nothing more')
}

/** What the requester's payment lines to the providers have paid, all together. */
async function paidOnLines (reader: ReturnType<typeof createLedgerClient>, grid: { requester: GridNode, providers: GridNode[] }): Promise<bigint> {
  let paid = 0n
  for (const node of grid.providers) paid += (await readLine(reader, grid.requester.address as Address, node.address as Address)).paid
  return paid
}

/**
 * anvil started, conun deployed on it with `conun chain deploy` and a grid joined with --chain, all
 * stopped and removed when the test ends. `anvil.current` is the running anvil (a test may restart it).
 */
async function anvilWithGrid (t: TestContext, name: string, options: { confirmations: number, anvil?: (dir: string) => AnvilOptions }) {
  const dir = await tempDir(name)
  const anvil = { current: await startAnvil(options.anvil?.(dir)) }
  let grid: Awaited<ReturnType<typeof gridOn>> | undefined
  // One hook, in this order: the nodes write into the folder until they stop.
  t.after(async () => {
    await grid?.stop()
    await anvil.current.stop()
    await rm(dir, { recursive: true, force: true })
  })
  const chainJson = await deploy(anvil.current, dir, options.confirmations)
  grid = await gridOn(anvil.current, dir, chainJson, options.confirmations)
  return { dir, anvil, chainJson, grid }
}

test('conun chain deploy on anvil, nodes join with --chain, and a paid job with 3 providers settles exactly', async (t) => {
  const { dir, chainJson, grid } = await anvilWithGrid(t, 'anvil', { confirmations: 0 })
  const shown = await conun(['chain', 'show', chainJson, '--json'])
  assert.equal(shown.code, 0, shown.stderr)
  const live = (JSON.parse(shown.stdout) as { live: { symbol: string, escrowDeployed: boolean } }).live
  assert.deepEqual([live.symbol, live.escrowDeployed], ['CON', true])
  await paidJobSettlesExactly(chainJson, grid)

  // The devnet passphrase on anvil's chain: refused, though its chain id is the dev chain's, and
  // before any keystore is written.
  const devnetDir = join(dir, 'devnet')
  const refused = await conun(['node', 'start', '--devnet', '--data-dir', devnetDir, '--chain', chainJson])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /--devnet .* is only for conun's embedded dev chain, and http:\/\/127\.0\.0\.1:\d+ is anvil\/v/)
  await assert.rejects(access(join(devnetDir, 'node.key.json')), { code: 'ENOENT' }, 'no light keystore was written')
})

test('with a block every second and 2 confirmations, the same job settles exactly', async (t) => {
  const { chainJson, grid } = await anvilWithGrid(t, 'anvil-slow', { confirmations: 2, anvil: () => ({ blockTime: 1 }) })
  await paidJobSettlesExactly(chainJson, grid)
})

test('a reorg drops the settlement after it was mined: it is sent again, and every provider ends paid exactly once', async (t) => {
  const { anvil, chainJson, grid } = await anvilWithGrid(t, 'anvil-reorg', { confirmations: 0 })
  const reader = createLedgerClient(chainInfoOf(await readChainFile(chainJson)), new Uint8Array(32).fill(1))
  const client = grid.requester.client
  await paidJobSettlesExactly(chainJson, grid, {
    tasks: TASKS,
    limit: 60_000_000,
    whileRunning: async jobId => {
      // The chain as it is with the job running; the settlement comes after.
      const snapshot = await anvil.current.rpc('evm_snapshot')
      const owed = parseEther(PRICE) * BigInt(TASKS)
      await waitFor(async () => (await client.job(jobId)).payment?.state === 'finalized', 120_000, 'the settlement')
      assert.equal(await paidOnLines(reader, grid), owed)
      assert.equal(await anvil.current.rpc('evm_revert', [snapshot]), true)
      assert.ok(await paidOnLines(reader, grid) < owed, 'the reorg took the settlement away')
      await waitFor(async () => await paidOnLines(reader, grid) === owed, 60_000, 'the settlement to be sent again')
    },
  })
})

test('a reorg removes the reservations mid-job: its providers count those results as unpaid again, the requester reserves again, and every provider ends paid exactly', async (t) => {
  const { anvil, chainJson, grid } = await anvilWithGrid(t, 'anvil-reorg-lines', { confirmations: 0 })
  const client = grid.requester.client
  const seen = new Map<string, NodeEvent[]>(grid.providers.map(node => [node.name, []]))
  for (const node of grid.providers) t.after(await node.client.events(event => seen.get(node.name)!.push(event)))
  const requesterEvents: NodeEvent[] = []
  t.after(await client.events(event => requesterEvents.push(event)))
  // The chain as it is before the job: its deposit and reservations come after this.
  const snapshot = await anvil.current.rpc('evm_snapshot')
  await paidJobSettlesExactly(chainJson, grid, {
    // The first reservation comes once a provider is owed 16 results: enough tasks, long enough,
    // that the job outlasts a provider's line check (every 3 s) after the reorg that follows it
    // (with 60 tasks, the job sometimes ended first).
    tasks: 150,
    limit: 30_000_000_000,
    whileRunning: async jobId => {
      await waitFor(async () => { const status = await client.job(jobId); return status.providers.length === 3 && status.counts.done > 0 }, 60_000, 'all three providers at work')
      await waitFor(async () => grid.providers.some(node => seen.get(node.name)!.some(event => event.type === 'payment.reserved')), 120_000, 'a provider to see a reservation on its line')
      // The reorg, and no block for a while: the reservations stay gone until a provider has seen it.
      assert.equal(await anvil.current.rpc('evm_revert', [snapshot]), true)
      await anvil.current.rpc('evm_setAutomine', [false])
      await waitFor(async () => grid.providers.some(node => seen.get(node.name)!.some(event => event.type === 'payment.reservation-lost')), 30_000, 'a provider at work to see its reservation gone')
      await anvil.current.rpc('evm_setAutomine', [true])
      await waitFor(async () => requesterEvents.some(event => event.type === 'job.reservation-failed' && event.jobId === jobId && /dropped by a reorg/.test(event.message)), 30_000, 'the requester to see its reservation dropped')
    },
  })
})

test('the RPC endpoint stops mid-job: tasks go on, node status says so, the job completes, and it settles exactly once the chain is back', async (t) => {
  const stateOf = (dir: string) => join(dir, 'anvil-state.json')
  const { dir, anvil, chainJson, grid } = await anvilWithGrid(t, 'anvil-down', { confirmations: 0, anvil: dir => ({ statePath: stateOf(dir) }) })
  const client = grid.requester.client
  await paidJobSettlesExactly(chainJson, grid, {
    tasks: 60,
    limit: 3_000_000_000,
    whileRunning: async jobId => {
      // Every provider has agreed (checking the requester's line on chain) and results come in: stop the chain.
      await waitFor(async () => { const status = await client.job(jobId); return status.providers.length === 3 && status.counts.done > 0 }, 60_000, 'all three providers at work')
      await anvil.current.stop()
      const doneWhenStopped = (await client.job(jobId)).counts.done
      await waitFor(async () => !(await client.node()).chain.reachable, 20_000, 'node status to see the chain down')
      const status = await conun(['node', 'status', '--data-dir', grid.requester.dataDir])
      assert.match(status.stdout, /chain {5}UNREACHABLE since .*tasks keep running; payments retry and settle when it is back/)
      await waitFor(async () => (await client.job(jobId)).counts.done > doneWhenStopped + 3, 120_000, 'results accepted while the chain is down')
      // The job ends while the chain is down: its settlement fails, is kept, and is tried again.
      await waitFor(async () => (await client.job(jobId)).job.state === 'completed', 180_000, 'the job to complete while the chain is down')
      await waitFor(async () => (await client.job(jobId)).payment?.state === 'finalize-failed', 30_000, 'the settlement to fail while the chain is down')
      anvil.current = await startAnvil({ statePath: stateOf(dir), port: anvil.current.port })
      await waitFor(async () => (await client.node()).chain.reachable, 20_000, 'node status to see the chain back')
    },
  })
})

test('a chain.json that is not one is a clear error, and the node does not start', async (t) => {
  const dir = await tempDir('chain-file')
  t.after(() => rm(dir, { recursive: true, force: true }))
  const cases: Array<[string, RegExp]> = [
    ['{"chainId": 1}', /chain file .*: rpcUrl: .*token: .*escrow: .*deploymentBlock/s],
    ['not json', /is not JSON/],
    [JSON.stringify({ chainId: 1, rpcUrl: 'ftp://x', token: '0x1', escrow: `0x${'2'.repeat(40)}`, deploymentBlock: -1 }), /rpcUrl: .*token: a contract address.*deploymentBlock/s],
    [`{"padding": "${'x'.repeat(70_000)}"}`, /is over 64 KiB: not a chain\.json/],
  ]
  for (const [text, message] of cases) {
    const path = join(dir, 'chain.json')
    await writeFile(path, text)
    const started = await conun(['node', 'start', '--data-dir', join(dir, 'node'), '--chain', path, '--passphrase-file', await passphraseFile(dir)])
    assert.equal(started.code, 1, started.stderr)
    assert.match(started.stderr, message)
  }
  const missing = await conun(['node', 'start', '--data-dir', join(dir, 'node'), '--chain', join(dir, 'nope.json'), '--passphrase-file', await passphraseFile(dir)])
  assert.match(missing.stderr, /cannot read chain file .*nope\.json: ENOENT/)
  const unreachable = await conun(['node', 'start', '--data-dir', join(dir, 'node'), '--chain', 'http://127.0.0.1:9/chain.json', '--passphrase-file', await passphraseFile(dir)])
  assert.match(unreachable.stderr, /cannot fetch chain file http:\/\/127\.0\.0\.1:9\/chain\.json/)
})
