// Nonces survive a restart: a node killed with a transaction in flight (anvil not mining) journals
// it in SQLite before sending, so after a restart it sends that very transaction again, even when
// the RPC endpoint's pool forgot it, and numbers its next transactions after it: no nonce is
// given to another transaction, and none is skipped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseEther } from 'viem'
import { buildExamples } from '../../scripts/build-examples.ts'
import { startNodeProcess, stopNode } from '../../src/devnet/index.ts'
import { chainClients, createLedgerClient, deployContracts, transferCon } from '../../src/ledger/index.ts'
import { tempDir, waitFor } from '../helpers.ts'
import { startAnvil } from './anvil.ts'
import type { GridNode } from '../../src/devnet/index.ts'
import type { Address, Hex } from 'viem'

// anvil's first dev account (the same well-known key as the embedded dev chain's faucet).
const SECRET = Buffer.from('ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', 'hex')
const [primes] = (await buildExamples({ log: () => {} })).filter(path => path.endsWith('primes.wasm'))

test('a node killed with a transaction in flight sends that transaction again after a restart, and numbers the next after it', async (t) => {
  const anvil = await startAnvil()
  const nodes: GridNode[] = []
  t.after(async () => {
    await Promise.all(nodes.map(stopNode))
    await anvil.stop()
  })
  const deployed = await deployContracts(chainClients(anvil.rpcUrl, 31337, SECRET), { supplyWei: parseEther('1000'), confirmations: 0 })
  const info = { rpcUrl: anvil.rpcUrl, chainId: 31337, token: deployed.token, escrow: deployed.escrow, deploymentBlock: deployed.deploymentBlock }
  const deployer = createLedgerClient(info, SECRET)
  const dir = await tempDir('nonces')
  const passphrase = join(dir, 'passphrase')
  await writeFile(passphrase, 'anvil test passphrase, not for real funds\n')
  const flags = ['--rpc', anvil.rpcUrl, '--chain-id', '31337', '--token', info.token, '--escrow', info.escrow, '--passphrase-file', passphrase]
  const start = async () => {
    const node = await startNodeProcess('requester', join(dir, 'requester'), flags, { devnet: false })
    nodes.push(node)
    return node
  }
  let requester = await start()
  const account = requester.address as Address
  await anvil.rpc('anvil_setBalance', [account, `0x${parseEther('10').toString(16)}`])
  await transferCon(deployer, account, parseEther('500'))
  const nonce = await deployer.public.getTransactionCount({ address: account })

  // A paid job's budget is deposited first: the deposit waits in the pool, unmined, when the node dies.
  await anvil.rpc('evm_setAutomine', [false])
  const job = { name: 'paid', runtime: 'wasi', module: primes!, range: { count: 4 }, price: '0.01', waitForProvidersMs: 600_000 }
  const submitting = requester.client.submitJob(job).catch((error: unknown) => error)
  const pooled = async () => {
    const pool = await anvil.rpc('txpool_content') as { pending: Record<string, Record<string, { hash: Hex }>> }
    return Object.entries(pool.pending).find(([from]) => from.toLowerCase() === account.toLowerCase())?.[1]
  }
  await waitFor(async () => (await pooled()) !== undefined, 30_000, 'the deposit in the pool')
  const inFlight = (await pooled())![String(nonce)]!.hash
  requester.process.kill('SIGKILL')
  await requester.exited
  assert.ok(await submitting instanceof Error, 'the submission died with the node')
  // The endpoint forgets it (a pool restarted, another endpoint behind a balancer): only the journal remembers.
  await anvil.rpc('anvil_dropAllTransactions')
  assert.equal(await pooled(), undefined)

  requester = await start()
  const resent = await pooled()
  assert.deepEqual(Object.keys(resent ?? {}), [String(nonce)], 'the restarted node sent its transaction again, under its nonce')
  assert.equal(resent![String(nonce)]!.hash, inFlight, 'the very transaction it had signed, not another')
  await anvil.rpc('evm_setAutomine', [true])
  await anvil.rpc('evm_mine')
  await waitFor(async () => (await deployer.public.getTransactionCount({ address: account })) === nonce + 1, 30_000, 'the deposit mined')
  assert.equal((await deployer.public.getTransactionReceipt({ hash: inFlight })).status, 'success')

  // A next job larger than the balance deposits again: one transaction, the next nonce.
  const opened = await requester.client.submitJob({ ...job, budget: '150' })
  assert.equal((await requester.client.job(opened.job.id)).payment?.state, 'open')
  assert.equal(await deployer.public.getTransactionCount({ address: account }), nonce + 2, 'no nonce skipped, none used twice')
})
