import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { keccak256, parseEther, toHex } from 'viem'
import { generateNodeKey } from '../identity/index.ts'
import { createLedgerClient, fundFromFaucet, onchainJobId, openJob, reservePayments, signReceipt, startDevChain } from '../ledger/index.ts'
import { MAX_UNPAID_RESULTS } from '../net/index.ts'
import { EventHub, openDatabase } from '../util/index.ts'
import { ProviderPayments } from './providerPayments.ts'
import { SqliteReceiptBook } from './sqliteReceiptBook.ts'
import type { ProviderEvent } from './providerEvents.ts'
import type { NodeKey } from '../identity/index.ts'
import type { DevChain, LedgerClient } from '../ledger/index.ts'
import type { AgreementProposalBody, TaskReceipt } from '../net/index.ts'

// ProviderPayments against the real escrow on a dev chain: how many results a provider gives a
// requester that does not pay for them, and what counts as paid.

const PRICE = parseEther('0.01')
const CORES = 2

let chain: DevChain
let requesterKey: NodeKey
let requester: LedgerClient
let providerKey: NodeKey

before(async () => {
  chain = await startDevChain()
  requesterKey = await generateNodeKey()
  providerKey = await generateNodeKey()
  requester = createLedgerClient(chain.info, requesterKey.secret)
  await fundFromFaucet(chain.info, requesterKey.address)
})
after(async () => { await chain.close() })

async function paidJob (name: string): Promise<AgreementProposalBody> {
  const specHash = keccak256(toHex(name))
  const budget = PRICE * 100n
  const { jobKey } = await openJob(requester, { jobId: onchainJobId(requesterKey.address, name), specHash, budget, deadline: (await requester.public.getBlock()).timestamp + 3600n })
  return {
    agreementId: `${name}.1`,
    jobId: name,
    chainId: chain.info.chainId,
    requester: requesterKey.address,
    provider: providerKey.address,
    specHash,
    runtime: 'wasi',
    limits: { memoryBytes: 1 << 20, timeoutMs: 1000, outputBytes: 1 << 20 },
    maxInFlight: 64,
    pricePerTaskWei: String(PRICE),
    escrow: { address: chain.info.escrow, jobKey, budgetWei: String(budget) },
    expiresAt: Date.now() + 60_000,
  }
}

function receiptFor (proposal: AgreementProposalBody, results: bigint): TaskReceipt {
  const body = { agreementId: proposal.agreementId, jobId: proposal.jobId, chainId: chain.info.chainId, escrow: chain.info.escrow, jobKey: proposal.escrow!.jobKey, provider: providerKey.address, cumulativeWei: String(PRICE * results) }
  const signature = signReceipt(requesterKey.secret, { chainId: chain.info.chainId, escrow: chain.info.escrow, jobKey: body.jobKey as `0x${string}`, provider: providerKey.address, cumulativeAmount: PRICE * results })
  return { type: 'task.receipt', v: 2, body, signature }
}

/** Takes and delivers tasks until one has to wait; returns how many ran, and the waiting one. */
async function deliverUntilHeld (payments: ProviderPayments, proposal: AgreementProposalBody, signal: AbortSignal): Promise<{ delivered: number, held: Promise<void> }> {
  for (let delivered = 0; ; delivered++) {
    let taken = false
    const take = payments.takeTask(proposal, signal).then(() => { taken = true })
    // A task the gate lets through is taken at once; one it holds is still waiting a turn later.
    await new Promise(resolve => setImmediate(resolve))
    if (!taken) return { delivered, held: take }
    payments.taskDone(proposal, true)
  }
}

test('a requester that never pays gets MAX_UNPAID_RESULTS results plus what runs; a receipt counts only up to the reservation', async () => {
  const events = new EventHub<ProviderEvent>()
  const awaited: ProviderEvent[] = []
  events.on(event => { if (event.type === 'payment.awaited') awaited.push(event) })
  const payments = new ProviderPayments({
    chain: createLedgerClient(chain.info, providerKey.secret),
    payout: providerKey.address,
    receipts: new SqliteReceiptBook(openDatabase(':memory:'), chain.info),
    events,
    policy: { priceWei: PRICE, claimThresholdWei: parseEther('1000'), claimDelayMs: 60_000, cores: CORES },
  })
  try {
    const proposal = await paidJob('withheld')
    assert.deepEqual(await payments.admit(proposal, requesterKey.peerId), { accept: true, maxInFlight: proposal.maxInFlight }, 'the job is admitted')
    const controller = new AbortController()
    const first = await deliverUntilHeld(payments, proposal, controller.signal)
    assert.equal(first.delivered, MAX_UNPAID_RESULTS + CORES, 'no receipts: the provider stops taking the requester\'s tasks')
    assert.equal(awaited.length, 1)

    // Receipts for 20 results, but only 5 of them reserved in the escrow: 5 more tasks, no more.
    payments.accept(receiptFor(proposal, 20n), proposal, requesterKey.peerId)
    await reservePayments(requester, proposal.escrow!.jobKey as `0x${string}`, [{ provider: providerKey.address, amount: PRICE * 5n }])
    await first.held
    payments.taskDone(proposal, true)
    const second = await deliverUntilHeld(payments, proposal, controller.signal)
    assert.equal(1 + second.delivered, 5, 'a receipt beyond the reservation counts only as far as the reservation')

    // A cancelled task stops waiting.
    controller.abort()
    await assert.rejects(second.held, { name: 'AbortError' })
  } finally {
    payments.stop()
  }
})
