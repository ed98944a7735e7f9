// Fees on a chain whose base fee moves (anvil, a block a second): a transaction priced before a fee
// spike is replaced with the same nonce and higher fees, never sent twice; under a fee cap it waits
// for the base fee to fall instead of paying more.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseEther } from 'viem'
import { chainClients, createLedgerClient, deployContracts, readBalances, transferCon } from '../../src/ledger/index.ts'
import { waitFor } from '../helpers.ts'
import { startAnvil } from './anvil.ts'
import type { Anvil } from './anvil.ts'
import type { LedgerClient } from '../../src/ledger/index.ts'
import type { Hex } from 'viem'

// anvil's first dev account (the same well-known key as the embedded dev chain's faucet).
const SECRET = Buffer.from('ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', 'hex')
const RECIPIENT = `0x${'5'.repeat(40)}` as const

async function ledgerOn (anvil: Anvil, maxFeePerGas?: bigint): Promise<LedgerClient> {
  const deployed = await deployContracts(chainClients(anvil.rpcUrl, 31337, SECRET), { supplyWei: parseEther('1000'), confirmations: 0 })
  return createLedgerClient({ rpcUrl: anvil.rpcUrl, chainId: 31337, token: deployed.token, escrow: deployed.escrow, deploymentBlock: deployed.deploymentBlock }, SECRET, { maxFeePerGas })
}

/** Sends 1 wei of CON with mining paused, then makes the next blocks' base fee 20× what the transaction offers. */
async function transferIntoFeeSpike (anvil: Anvil, client: LedgerClient) {
  const address = client.account.address
  const nonce = await client.public.getTransactionCount({ address })
  await anvil.rpc('evm_setIntervalMining', [0])
  const sending = transferCon(client, RECIPIENT, 1n)
  await waitFor(async () => await client.public.getTransactionCount({ address, blockTag: 'pending' }) > nonce, 30_000, 'the transfer in the pool')
  const pool = await anvil.rpc('txpool_content') as { pending: Record<string, Record<string, { hash: Hex, maxFeePerGas: Hex }>> }
  const first = Object.values(Object.entries(pool.pending).find(([from]) => from.toLowerCase() === address.toLowerCase())![1])[0]!
  const spike = BigInt(first.maxFeePerGas) * 20n
  await anvil.rpc('anvil_setNextBlockBaseFeePerGas', [`0x${spike.toString(16)}`])
  await anvil.rpc('evm_setIntervalMining', [1])
  return { nonce, first: first.hash, spike, sent: await sending }
}

test('a transaction stuck under a fee spike is replaced, not sent twice', async (t) => {
  const anvil = await startAnvil({ blockTime: 1 })
  t.after(() => anvil.stop())
  const client = await ledgerOn(anvil)
  const { nonce, first, sent } = await transferIntoFeeSpike(anvil, client)
  assert.notEqual(sent.hash, first, 'the transaction mined is the replacement')
  await assert.rejects(client.public.getTransactionReceipt({ hash: first }), { name: 'TransactionReceiptNotFoundError' })
  assert.equal(await client.public.getTransactionCount({ address: client.account.address }), nonce + 1, 'one nonce used')
  assert.equal((await readBalances(client, RECIPIENT)).con, 1n, 'paid once')
})

test('under a fee cap, a transaction waits for the base fee to fall below it and never pays more', async (t) => {
  const anvil = await startAnvil({ blockTime: 1 })
  t.after(() => anvil.stop())
  const base = (await (await ledgerOn(anvil)).public.getBlock()).baseFeePerGas!
  // Well above today's fees, well below the spike: the spike must decay (12.5 % a block) first.
  const cap = base * 8n
  const client = await ledgerOn(anvil, cap)
  const { nonce, spike, sent } = await transferIntoFeeSpike(anvil, client)
  assert.ok(spike > cap)
  const mined = await client.public.getTransaction({ hash: sent.hash })
  assert.ok(mined.maxFeePerGas! <= cap, `paid at most the cap: ${mined.maxFeePerGas} <= ${cap}`)
  const block = await client.public.getBlock({ blockNumber: sent.blockNumber })
  assert.ok(block.baseFeePerGas! <= cap, 'mined once the base fee fell under the cap')
  assert.equal(await client.public.getTransactionCount({ address: client.account.address }), nonce + 1, 'one nonce used')
  assert.equal((await readBalances(client, RECIPIENT)).con, 1n, 'paid once')
})
