import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { keccak256, parseEther, toHex } from 'viem'
import { generateNodeKey } from '../identity/index.ts'
import { announceRelease, createLedgerClient, depositToEscrow, escrowDeployment, fundFromFaucet, onchainJobId, reserveLines, signReceipt, startDevChain } from '../ledger/index.ts'
import { MAX_UNPAID_RESULTS } from '../net/index.ts'
import { EventHub, openDatabase } from '../util/index.ts'
import { ProviderPayments } from './providerPayments.ts'
import { SqliteReceiptBook } from './sqliteReceiptBook.ts'
import type { ProviderEvent } from './providerEvents.ts'
import type { NodeKey } from '../identity/index.ts'
import type { DevChain, LedgerClient } from '../ledger/index.ts'
import type { AgreementProposalBody, TaskReceipt } from '../net/index.ts'

// ProviderPayments against the real escrow on a dev chain: how many results a provider gives a
// requester that does not pay for them, what counts as paid, and a requester taking its line back.

const PRICE = parseEther('0.01')
const CORES = 2

let chain: DevChain
let requesterKey: NodeKey
let requester: LedgerClient
let providerKey: NodeKey
let deployment: string

before(async () => {
  chain = await startDevChain()
  requesterKey = await generateNodeKey()
  providerKey = await generateNodeKey()
  requester = createLedgerClient(chain.info, requesterKey.secret)
  await fundFromFaucet(chain.info, requesterKey.address)
  await depositToEscrow(requester, PRICE * 100n)
  deployment = await escrowDeployment(requester)
})
after(async () => { await chain.close() })

async function paidJob (name: string): Promise<AgreementProposalBody> {
  const specHash = keccak256(toHex(name))
  const budget = PRICE * 100n
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
    escrow: { address: chain.info.escrow, jobKey: onchainJobId(requesterKey.address, name), budgetWei: String(budget) },
    expiresAt: Date.now() + 60_000,
  }
}

function receiptFor (proposal: AgreementProposalBody, results: bigint): TaskReceipt {
  const body = { agreementId: proposal.agreementId, jobId: proposal.jobId, chainId: chain.info.chainId, escrow: chain.info.escrow, requester: requesterKey.address, provider: providerKey.address, cumulativeWei: String(PRICE * results) }
  const signature = signReceipt(requesterKey.secret, { chainId: chain.info.chainId, escrow: chain.info.escrow, requester: requesterKey.address, provider: providerKey.address, cumulativeAmount: PRICE * results })
  return { type: 'task.receipt', v: 3, body, signature }
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

function providerPayments (events: EventHub<ProviderEvent>): ProviderPayments {
  return new ProviderPayments({
    chain: createLedgerClient(chain.info, providerKey.secret),
    payout: providerKey.address,
    receipts: new SqliteReceiptBook(openDatabase(':memory:'), { ...chain.info, deployment }),
    events,
    policy: { priceWei: PRICE, claimThresholdWei: parseEther('1000'), claimDelayMs: 60_000, cores: CORES },
  })
}

test('a requester that never pays gets MAX_UNPAID_RESULTS results plus what runs, over all its jobs; a receipt counts only up to the reservation', async () => {
  const events = new EventHub<ProviderEvent>()
  const awaited: ProviderEvent[] = []
  events.on(event => { if (event.type === 'payment.awaited') awaited.push(event) })
  const payments = providerPayments(events)
  try {
    const proposal = await paidJob('withheld')
    assert.deepEqual(await payments.admit(proposal, requesterKey.peerId), { accept: true, maxInFlight: proposal.maxInFlight }, 'the job is admitted')
    const controller = new AbortController()
    const first = await deliverUntilHeld(payments, proposal, controller.signal)
    assert.equal(first.delivered, MAX_UNPAID_RESULTS + CORES, 'no receipts: the provider stops taking the requester\'s tasks')
    assert.equal(awaited.length, 1)

    // A second job of the same requester draws on the same line: nothing more runs unpaid.
    const other = await paidJob('withheld-too')
    assert.equal((await payments.admit(other, requesterKey.peerId)).accept, true)
    const elsewhere = await deliverUntilHeld(payments, other, controller.signal)
    assert.equal(elsewhere.delivered, 0, 'the requester\'s other job waits as well')

    // Receipts for 20 results, but only 5 of them reserved on the line: 5 more tasks, no more.
    payments.accept(receiptFor(proposal, 20n), proposal, requesterKey.peerId)
    await reserveLines(requester, [{ provider: providerKey.address, amount: PRICE * 5n }])
    await first.held
    payments.taskDone(proposal, true)
    await elsewhere.held
    payments.taskDone(other, true)
    const second = await deliverUntilHeld(payments, proposal, controller.signal)
    assert.equal(2 + second.delivered, 5, 'a receipt beyond the reservation counts only as far as the reservation')

    // A cancelled task stops waiting.
    controller.abort()
    await assert.rejects(second.held, { name: 'AbortError' })
  } finally {
    payments.stop()
  }
})

test('a requester that announced it takes its line back is refused, and one without a balance too', async () => {
  const payments = providerPayments(new EventHub<ProviderEvent>())
  try {
    const broke = await generateNodeKey()
    const proposal = await paidJob('broke')
    const fromBroke = { ...proposal, requester: broke.address }
    assert.match((await payments.admit(fromBroke, broke.peerId) as { reason: string }).reason, /less than one task's price/)
    await announceRelease(requester, providerKey.address)
    assert.match((await payments.admit(proposal, requesterKey.peerId) as { reason: string }).reason, /takes back what its payment line/)
    // A reservation withdraws the announcement.
    await reserveLines(requester, [{ provider: providerKey.address, amount: PRICE * 10n }])
    assert.equal((await payments.admit(proposal, requesterKey.peerId)).accept, true)
  } finally {
    payments.stop()
  }
})

test('a requester that announces it takes its line back while a receipt is not paid in full is reported, with the receipt as proof', async () => {
  const events = new EventHub<ProviderEvent>()
  const seen: ProviderEvent[] = []
  events.on(event => seen.push(event))
  const payments = providerPayments(events)
  payments.start()
  try {
    const proposal = await paidJob('released')
    assert.equal((await payments.admit(proposal, requesterKey.peerId)).accept, true)
    // The line holds what the first test reserved and more; the receipt says more than it holds.
    payments.accept(receiptFor(proposal, 1000n), proposal, requesterKey.peerId)
    await announceRelease(requester, providerKey.address)
    const deadline = Date.now() + 10_000
    while (!seen.some(event => event.type === 'payment.short') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
    assert.ok(seen.some(event => event.type === 'payment.line-released'), 'the release is reported, so the agent ends the requester\'s sessions')
    const short = seen.find(event => event.type === 'payment.short')
    assert.deepEqual(short && { requester: short.requester.toLowerCase(), owedWei: short.owedWei }, { requester: requesterKey.address.toLowerCase(), owedWei: String(PRICE * 1000n) })
    assert.equal(payments.receipts()[0]?.state, 'short')
  } finally {
    payments.stop()
  }
})
