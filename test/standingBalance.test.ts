// A requester's standing balance in the escrow as the node keeps it (EscrowSettlement on a real dev
// chain and a real SQLite job store): a paid job needs its budget free there, jobs submitted at
// once deposit only once when it is short, a wallet that cannot cover a job is refused before any
// transaction, and jobs of an escrow deployment that is gone are marked so.
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { keccak256, parseEther, toHex } from 'viem'
import { nodeKeyFromSecret } from '../src/identity/index.ts'
import { createLedgerClient, escrowDeployment, fundFromFaucet, LedgerError, onchainJobId, readBalances, readEscrowBalance, startDevChain, transferCon } from '../src/ledger/index.ts'
import { EscrowSettlement, JobStore } from '../src/requester/index.ts'
import { EventHub, openDatabase } from '../src/util/index.ts'
import { tempDir } from './helpers.ts'
import type { RequesterEvent } from '../src/requester/index.ts'

test('jobs submitted at once draw on one top-up; a wallet short of a job\'s budget is refused before any transaction', async (t) => {
  const chain = await startDevChain()
  t.after(() => chain.close())
  const key = nodeKeyFromSecret(randomBytes(32))
  const client = createLedgerClient(chain.info, key.secret)
  await fundFromFaucet(chain.info, key.address)
  const db = openDatabase(join(await tempDir('standing-balance'), 'jobs.db'))
  t.after(() => db.close())
  const events = new EventHub<RequesterEvent>()
  const deposits: Array<Extract<RequesterEvent, { type: 'escrow.deposited' }>> = []
  events.on(event => { if (event.type === 'escrow.deposited') deposits.push(event) })
  const settlement = new EscrowSettlement({ client, key, db, store: new JobStore(db), events, topUpWei: parseEther('100'), deployment: await escrowDeployment(client) })
  const job = (id: string, budget: string) => ({ id, specHash: keccak256(toHex(id)), priceWei: String(parseEther('1')), budgetWei: String(parseEther(budget)) })

  // Each fits in one 100 CON top-up, which the first makes and the others find.
  const refs = await Promise.all([settlement.openJob(job('a', '40')), settlement.openJob(job('b', '40')), settlement.openJob(job('c', '60'))])
  assert.deepEqual(deposits.map(deposit => [deposit.jobId, deposit.amountWei]), [['a', String(parseEther('100'))]])
  assert.equal(await readEscrowBalance(client, key.address), parseEther('100'), 'opening a job moves nothing: its providers\' lines draw on the balance as they earn')
  assert.deepEqual(refs.map(ref => ref?.jobKey), ['a', 'b', 'c'].map(id => onchainJobId(key.address, id)))
  assert.equal((await settlement.status('b'))?.state, 'open')

  // A job larger than the balance and the wallet together: refused with a clear error, nothing sent.
  const wallet = (await readBalances(client, key.address)).con
  await transferCon(client, '0x000000000000000000000000000000000000dEaD', wallet - parseEther('5'))
  const nonce = await client.public.getTransactionCount({ address: key.address })
  await assert.rejects(settlement.openJob(job('d', '200')), (error: unknown) => error instanceof LedgerError && /needs 100 CON more in the escrow than the 100 CON free there, and the wallet holds only 5 CON/.test(error.message))
  assert.equal(await client.public.getTransactionCount({ address: key.address }), nonce)
  assert.equal(await settlement.status('d'), null, 'no payment was recorded for it')
  // The balance still covers what it can, without a deposit; one a little beyond it takes what the wallet has.
  await settlement.openJob(job('e', '100'))
  assert.equal(deposits.length, 1)
  await settlement.openJob(job('f', '103'))
  assert.deepEqual(deposits.map(deposit => deposit.amountWei), [String(parseEther('100')), String(parseEther('5'))])

  // The same database on an escrow deployed afresh (a dev chain started again): its jobs can no
  // longer be settled there, and they are said to be so instead of waiting for ever.
  const afresh = new EscrowSettlement({ client, key, db, store: new JobStore(db), events, topUpWei: parseEther('100'), deployment: `0x${'ab'.repeat(32)}` })
  const status = await afresh.status('b')
  assert.equal(status?.state, 'finalize-failed')
  assert.match(status?.error ?? '', /escrow deployment that was to pay it is gone/)
})
