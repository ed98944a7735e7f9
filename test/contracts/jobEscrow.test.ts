import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { encodeFunctionData, keccak256, parseEther, parseGwei, toHex } from 'viem'
import { claimPayment, conunTokenAbi, createLedgerClient, depositToEscrow, finalizeJob, fundFromFaucet, jobEscrowAbi, jobKeyOf, LedgerError, loadArtifacts, onchainJobId, openJob, openJobFromBalance, readBalances, readEscrowBalance, readEscrowJob, readEscrowShare, readJobSpecHash, receiptDigest, reentrantTokenAbi, refundJob, reservePayments, sendContract, signReceipt, startDevChain, withdrawFromEscrow } from '../../src/ledger/index.ts'
import type { DevChain, LedgerClient } from '../../src/ledger/index.ts'
import type { Address, Hex } from 'viem'

/**
 * JobEscrow on the real EVM (Hardhat's EDR), driven through conun's own ledger client: the
 * happy path, every refusal, what a requester can no longer take back from a provider holding a
 * receipt, a reentrant token, and random sequences of reservations, receipts, claims and
 * settlements that must conserve funds and pay every receipt within its reservation; then the
 * requester's standing balance that jobs are opened from, and what a requester must not get from it.
 */

let chain: DevChain
let requester: LedgerClient & { secret: Uint8Array }
let providers: Array<LedgerClient & { secret: Uint8Array }>
let stranger: LedgerClient & { secret: Uint8Array }
let grace: bigint

async function newAccount (): Promise<LedgerClient & { secret: Uint8Array }> {
  const secret = randomBytes(32)
  const client = createLedgerClient(chain.info, secret)
  await fundFromFaucet(chain.info, client.account.address)
  return Object.assign(client, { secret })
}

const now = async (client: LedgerClient) => (await client.public.getBlock()).timestamp
async function open (budget: bigint, id = `job-${randomBytes(4).toString('hex')}`, by: LedgerClient = requester) {
  const jobId = onchainJobId(requester.account.address, id)
  const specHash = keccak256(toHex(id))
  const { jobKey } = await openJob(by, { jobId, specHash, budget, deadline: (await now(by)) + 3600n })
  return { jobId, jobKey, specHash }
}
const receipt = (jobKey: Hex, provider: Address, cumulativeAmount: bigint, signer = requester.secret, overrides: { chainId?: number, escrow?: Address } = {}) => ({
  jobKey,
  provider,
  cumulativeAmount,
  signature: signReceipt(signer, { chainId: overrides.chainId ?? chain.info.chainId, escrow: overrides.escrow ?? chain.info.escrow, jobKey, provider, cumulativeAmount }),
})
async function timeTravel (seconds: bigint) {
  await requester.public.request({ method: 'evm_increaseTime' as never, params: [Number(seconds)] as never })
  await requester.public.request({ method: 'evm_mine' as never, params: [] as never })
}
const con = async (address: Address) => (await readBalances(requester, address)).con
async function refusal (promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  assert.ok(error instanceof LedgerError, `expected a LedgerError, got ${String(error)}`)
  return error.reason
}

before(async () => {
  chain = await startDevChain()
  requester = await newAccount()
  providers = [await newAccount(), await newAccount(), await newAccount()]
  stranger = await newAccount()
  grace = await requester.public.readContract({ address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'CLAIM_GRACE' })
})
after(async () => { await chain.close() })

describe('JobEscrow', () => {
  it('opens a job in one transaction (permit), pays cumulative receipts within reservations once, finalises with the unreserved rest going back', async () => {
    const [a, b] = providers.map(p => p.account.address) as [Address, Address]
    const before = { requester: await con(requester.account.address), a: await con(a), b: await con(b) }
    const { jobId, jobKey, specHash } = await open(parseEther('100'))
    assert.equal(await requester.public.readContract({ address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'jobKey', args: [requester.account.address, jobId] }), jobKey)
    assert.equal(await readJobSpecHash(requester, jobKey), specHash)
    const job = await readEscrowJob(requester, jobKey)
    assert.equal(job.requester, requester.account.address)
    assert.equal(job.budget, parseEther('100'))
    assert.equal(await con(chain.info.escrow), parseEther('100'))

    const onChainDigest = await requester.public.readContract({ address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'receiptDigest', args: [jobKey, a, 7n] })
    assert.equal(onChainDigest, receiptDigest({ chainId: chain.info.chainId, escrow: chain.info.escrow, jobKey, provider: a, cumulativeAmount: 7n }))
    const reserved = await reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('30') }, { provider: b, amount: parseEther('10') }])
    assert.ok(reserved.gasUsed < 120_000n, `reserving for two providers used ${reserved.gasUsed} gas`)
    assert.deepEqual(await readEscrowShare(requester, jobKey, a), { reserved: parseEther('30'), claimed: 0n })
    const claim = await claimPayment(providers[0]!, receipt(jobKey, a, parseEther('10')))
    assert.ok(claim.gasUsed < 100_000n, `claim used ${claim.gasUsed} gas`)
    // One later receipt covers everything since: only the difference is paid.
    await claimPayment(providers[0]!, receipt(jobKey, a, parseEther('30')))
    assert.equal(await con(a) - before.a, parseEther('30'))

    await finalizeJob(requester, jobKey, keccak256(toHex('root')), [{ provider: a, cumulativeAmount: parseEther('50') }, { provider: b, cumulativeAmount: parseEther('20') }])
    assert.equal(await con(a) - before.a, parseEther('50'))
    assert.equal(await con(b) - before.b, parseEther('20'))
    // Everything reserved was paid, so the whole rest came back at once.
    assert.equal(before.requester - await con(requester.account.address), parseEther('70'))
    assert.equal(await con(chain.info.escrow), 0n)
    const settled = await readEscrowJob(requester, jobKey)
    assert.equal(settled.finalized, true)
    assert.equal(settled.paid, parseEther('70'))
    assert.equal(await refusal(claimPayment(providers[1]!, receipt(jobKey, b, parseEther('20')))), 'AlreadySettled', 'the settlement paid it')
    assert.equal(await refusal(claimPayment(providers[1]!, receipt(jobKey, b, parseEther('25')))), 'AlreadySettled', 'more than was ever reserved or settled')
    // A settlement that pays every reservation writes no share: what each was paid comes from its events.
    assert.deepEqual(await readEscrowShare(requester, jobKey, a), { reserved: parseEther('50'), claimed: parseEther('50') })
    assert.deepEqual(await readEscrowShare(requester, jobKey, b), { reserved: parseEther('20'), claimed: parseEther('20') })
    assert.deepEqual(await readEscrowShare(requester, jobKey, stranger.account.address), { reserved: 0n, claimed: 0n })
  })

  it('settles three providers that nothing was reserved for in one transaction of under 100,000 gas (no share written), each listed once', async () => {
    const owed = providers.map((p, i) => ({ provider: p.account.address, cumulativeAmount: parseEther(String(i + 1)) }))
    const before = await Promise.all(owed.map(({ provider }) => con(provider)))
    const { jobKey } = await open(parseEther('10'))
    const listed = (entries: typeof owed) => [entries.map(entry => entry.provider), entries.map(entry => entry.cumulativeAmount)] as const
    const descending = [...owed].sort((x, y) => BigInt(x.provider) < BigInt(y.provider) ? 1 : -1)
    const twice = [owed[0]!, owed[0]!]
    for (const entries of [descending, twice]) {
      assert.equal(await refusal(sendContract(requester, { address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'finalize', args: [jobKey, keccak256('0x01'), ...listed(entries)] })), 'ProvidersNotAscending')
    }
    // finalizeJob puts them in order.
    const settlement = await finalizeJob(requester, jobKey, keccak256('0x01'), descending)
    // Three new share slots, as settlements wrote before, came to over 150,000 gas.
    assert.ok(settlement.gasUsed < 100_000n, `the settlement used ${settlement.gasUsed} gas`)
    for (const [i, { provider, cumulativeAmount }] of owed.entries()) {
      assert.equal(await con(provider) - before[i]!, cumulativeAmount)
      assert.deepEqual(await readEscrowShare(requester, jobKey, provider), { reserved: cumulativeAmount, claimed: cumulativeAmount })
    }
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, owed[0]!.provider, parseEther('5')))), 'AlreadySettled')
    assert.deepEqual(await readEscrowJob(requester, jobKey).then(job => [job.paid, job.budget, job.finalized]), [parseEther('6'), parseEther('6'), true])
  })

  it('refuses every receipt, reservation and settlement it must not accept', async () => {
    const a = providers[0]!.account.address
    const b = providers[1]!.account.address
    const { jobId, jobKey } = await open(parseEther('10'))
    const { jobKey: otherJob } = await open(parseEther('10'))
    await reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('5') }])
    await claimPayment(providers[0]!, receipt(jobKey, a, parseEther('4')))
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, a, parseEther('4')))), 'ReceiptNotNewer', 'replay')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, a, parseEther('3')))), 'ReceiptNotNewer', 'older receipt')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, a, parseEther('5'), stranger.secret))), 'BadReceiptSigner', 'wrong signer')
    const forOtherJob = receipt(otherJob, a, parseEther('5'))
    assert.equal(await refusal(claimPayment(providers[0]!, { ...forOtherJob, jobKey })), 'BadReceiptSigner', 'receipt of another job')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, a, parseEther('5'), requester.secret, { chainId: 1 }))), 'BadReceiptSigner', 'receipt for another chain')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, a, parseEther('5'), requester.secret, { escrow: chain.info.token }))), 'BadReceiptSigner', 'receipt for another escrow')
    const toA = receipt(jobKey, a, parseEther('5'))
    assert.equal(await refusal(claimPayment(providers[1]!, { ...toA, provider: b })), 'BadReceiptSigner', 'receipt of another provider')
    assert.equal(await refusal(claimPayment(providers[1]!, receipt(jobKey, b, parseEther('1')))), 'NotReserved', 'nothing reserved for it')
    // A receipt beyond the reservation pays what is reserved, and nothing more until it grows.
    await claimPayment(providers[0]!, receipt(jobKey, a, parseEther('9')))
    assert.equal((await readEscrowShare(requester, jobKey, a)).claimed, parseEther('5'))
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, a, parseEther('9')))), 'NotReserved', 'beyond the reservation')
    assert.equal(await refusal(reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('4') }])), 'ReservationLowered')
    assert.equal(await refusal(reservePayments(requester, jobKey, [{ provider: b, amount: parseEther('6') }])), 'OverBudget', 'reservations beyond the budget')
    assert.equal(await refusal(reservePayments(stranger, jobKey, [{ provider: b, amount: 1n }])), 'NotRequester')
    assert.equal(await refusal(sendContract(requester, { address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'reserve', args: [jobKey, [a, b], [1n]] })), 'LengthMismatch')
    assert.equal(await refusal(refundJob(requester, jobKey)), 'RefundTooEarly')
    assert.equal(await refusal(finalizeJob(stranger, jobKey, keccak256('0x01'), [])), 'NotRequester')
    assert.equal(await refusal(openJob(requester, { jobId, specHash: keccak256('0x01'), budget: 1n, deadline: (await now(requester)) + 60n })), 'JobExists')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(keccak256('0x99'), a, 1n))), 'UnknownJob')

    await finalizeJob(requester, otherJob, keccak256('0x02'), [])
    assert.equal(await refusal(finalizeJob(requester, otherJob, keccak256('0x02'), [])), 'AlreadyFinalized', 'double settlement')
    assert.equal(await refusal(reservePayments(requester, otherJob, [{ provider: a, amount: 1n }])), 'AlreadyFinalized', 'reserving after the settlement')

    // After the deadline and the grace period the unpaid rest goes back, once.
    await timeTravel(3600n + grace)
    const before = await con(requester.account.address)
    await refundJob(stranger, jobKey)
    assert.equal(await con(requester.account.address) - before, parseEther('5'))
    assert.equal(await refusal(refundJob(requester, jobKey)), 'JobClosed', 'double refund')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, a, parseEther('10')))), 'JobClosed', 'claim after the refund')
  })

  it('finalize under a receipt: a settlement that pays less than a receipt within the reservation cannot keep the difference', async () => {
    const a = providers[0]!.account.address
    const { jobKey } = await open(parseEther('100'))
    await reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('40') }])
    const held = receipt(jobKey, a, parseEther('40'))
    const before = { a: await con(a), requester: await con(requester.account.address) }
    // The requester settles paying the provider nothing: only what nobody reserved comes back now.
    await finalizeJob(requester, jobKey, keccak256('0x01'), [{ provider: a, cumulativeAmount: 0n }])
    assert.equal(await con(requester.account.address) - before.requester, parseEther('60'))
    assert.equal(await refusal(refundJob(requester, jobKey)), 'RefundTooEarly', 'the reserved part waits out the claim window')
    await claimPayment(providers[0]!, held)
    assert.equal(await con(a) - before.a, parseEther('40'), 'the provider is paid its receipt after the settlement')
    await timeTravel(grace)
    await refundJob(requester, jobKey)
    assert.equal(await con(requester.account.address) - before.requester, parseEther('60'), 'the refund returns nothing of the provider\'s')
  })

  it('front-run claim: a settlement mined just before a provider\'s claim does not make the claim fail', async () => {
    const a = providers[0]!.account.address
    const { jobKey } = await open(parseEther('100'))
    await reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('40') }])
    const before = await con(a)
    const setAutomine = (on: boolean) => requester.public.request({ method: 'evm_setAutomine' as never, params: [on] as never })
    await setAutomine(false)
    try {
      const claimNonce = await providers[0]!.public.getTransactionCount({ address: a, blockTag: 'pending' })
      const claimed = claimPayment(providers[0]!, receipt(jobKey, a, parseEther('40')))
      // The requester sees the claim waiting and outbids it with a settlement that pays nothing.
      while (await providers[0]!.public.getTransactionCount({ address: a, blockTag: 'pending' }) === claimNonce) await new Promise(resolve => setTimeout(resolve, 20))
      const settlement = await requester.wallet.writeContract({
        address: chain.info.escrow,
        abi: jobEscrowAbi,
        functionName: 'finalize',
        args: [jobKey, keccak256('0x01'), [a], [0n]],
        gas: 300_000n,
        maxPriorityFeePerGas: parseGwei('500'),
        maxFeePerGas: parseGwei('1000'),
      })
      await requester.public.request({ method: 'evm_mine' as never, params: [] as never })
      const [settled, claim] = await Promise.all([requester.public.waitForTransactionReceipt({ hash: settlement }), claimed])
      const claimReceipt = await requester.public.getTransactionReceipt({ hash: claim.hash })
      assert.equal(settled.status, 'success')
      assert.equal(claimReceipt.blockNumber, settled.blockNumber)
      assert.ok(settled.transactionIndex < claimReceipt.transactionIndex, 'the settlement was mined first')
    } finally {
      await setAutomine(true)
    }
    assert.equal(await con(a) - before, parseEther('40'))
  })

  it('over-budget receipts: reservations never add up to more than the budget, and every receipt within one is paid in any order', async () => {
    const [a, b] = providers.map(p => p.account.address) as [Address, Address]
    const { jobKey } = await open(parseEther('100'))
    await reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('60') }])
    assert.equal(await refusal(reservePayments(requester, jobKey, [{ provider: b, amount: parseEther('60') }])), 'OverBudget')
    await reservePayments(requester, jobKey, [{ provider: b, amount: parseEther('40') }])
    // The requester signs both providers receipts for 60: 120 from a budget of 100. b's receipt goes
    // beyond what is reserved for it, which its provider does not count as paid (see
    // ProviderPayments); what is reserved is paid whoever claims first and whatever the settlement says.
    const before = { a: await con(a), b: await con(b) }
    await claimPayment(providers[1]!, receipt(jobKey, b, parseEther('60')))
    await finalizeJob(requester, jobKey, keccak256('0x01'), [])
    await claimPayment(providers[0]!, receipt(jobKey, a, parseEther('60')))
    assert.equal(await con(a) - before.a, parseEther('60'))
    assert.equal(await con(b) - before.b, parseEther('40'))
    assert.equal(await refusal(claimPayment(providers[1]!, receipt(jobKey, b, parseEther('60')))), 'NotReserved')
    const job = await readEscrowJob(requester, jobKey)
    assert.equal(job.paid, job.budget)
  })

  it('a squatted job id: a third party opening the requester\'s id first neither blocks nor takes over the requester\'s job', async () => {
    const a = providers[0]!.account.address
    const id = `job-${randomBytes(4).toString('hex')}`
    // The stranger front-runs the requester with the very id the requester will use.
    const squatted = await open(parseEther('1'), id, stranger)
    const { jobId, jobKey } = await open(parseEther('10'), id)
    assert.equal(squatted.jobId, jobId)
    assert.notEqual(squatted.jobKey, jobKey)
    assert.equal(jobKey, jobKeyOf(requester.account.address, jobId))
    assert.equal((await readEscrowJob(requester, jobKey)).requester, requester.account.address)
    assert.equal((await readEscrowJob(requester, squatted.jobKey)).requester, stranger.account.address)
    assert.equal(await refusal(reservePayments(stranger, jobKey, [{ provider: a, amount: 1n }])), 'NotRequester')
    assert.equal(await refusal(finalizeJob(stranger, jobKey, keccak256('0x01'), [])), 'NotRequester')
    await reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('2') }])
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, a, parseEther('2'), stranger.secret))), 'BadReceiptSigner')
    await claimPayment(providers[0]!, receipt(jobKey, a, parseEther('2')))
    assert.equal((await readEscrowShare(requester, jobKey, a)).claimed, parseEther('2'))
  })

  it('a reentrant token cannot make the escrow pay twice', async () => {
    const artifacts = await loadArtifacts()
    const hash = await requester.wallet.deployContract({ abi: artifacts.ReentrantToken.abi, bytecode: artifacts.ReentrantToken.bytecode, args: [requester.account.address, parseEther('1000')] })
    const evil = (await requester.public.waitForTransactionReceipt({ hash })).contractAddress!
    const escrowHash = await requester.wallet.deployContract({ abi: artifacts.JobEscrow.abi, bytecode: artifacts.JobEscrow.bytecode, args: [evil] })
    const escrow = (await requester.public.waitForTransactionReceipt({ hash: escrowHash })).contractAddress!
    const onEvil = createLedgerClient({ ...chain.info, token: evil, escrow }, requester.secret)
    const jobId = onchainJobId(requester.account.address, 'evil')
    const jobKey = jobKeyOf(requester.account.address, jobId)
    await sendContract(onEvil, { address: evil, abi: reentrantTokenAbi, functionName: 'approve', args: [escrow, parseEther('100')] })
    await sendContract(onEvil, { address: escrow, abi: jobEscrowAbi, functionName: 'openJob', args: [jobId, keccak256('0x01'), parseEther('100'), Number(await now(requester) + 3600n)] })
    const a = providers[0]!.account.address
    await reservePayments(onEvil, jobKey, [{ provider: a, amount: parseEther('50') }])
    const signature = signReceipt(requester.secret, { chainId: chain.info.chainId, escrow, jobKey, provider: a, cumulativeAmount: parseEther('10') })
    // The token replays the very claim being paid from inside the escrow's transfer.
    const reentry = encodeFunctionData({ abi: jobEscrowAbi, functionName: 'claim', args: [jobKey, a, parseEther('10'), signature] })
    await sendContract(onEvil, { address: evil, abi: reentrantTokenAbi, functionName: 'arm', args: [escrow, reentry] })
    await sendContract(onEvil, { address: escrow, abi: jobEscrowAbi, functionName: 'claim', args: [jobKey, a, parseEther('10'), signature] })
    const read = (functionName: 'reentered' | 'reentrySucceeded') => onEvil.public.readContract({ address: evil, abi: reentrantTokenAbi, functionName })
    assert.equal(await read('reentered'), true)
    assert.equal(await read('reentrySucceeded'), false)
    assert.equal(await onEvil.public.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [a] }), parseEther('10'))
    assert.equal(await onEvil.public.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [escrow] }), parseEther('90'))
  })

  it('random reservations, receipts, claims and settlements conserve funds (escrow balance = budgets − paid − released) and pay every receipt up to its reservation', async () => {
    let seed = 42
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const escrowBalance = () => con(chain.info.escrow)
    const start = await escrowBalance()
    const free = () => readEscrowBalance(requester, requester.account.address)
    for (let round = 0; round < 8; round++) {
      const budget = parseEther(String(20 + random(80)))
      // Odd rounds draw on the standing balance (deposited just before): what they give back stays
      // in the escrow as the requester's free balance, which the model counts as released.
      const fromBalance = round % 2 === 1
      if (fromBalance) await depositToEscrow(requester, budget)
      const { jobKey } = fromBalance
        ? await openJobFromBalance(requester, { jobId: onchainJobId(requester.account.address, `random-${round}`), specHash: keccak256('0x01'), budget, deadline: (await now(requester)) + 3600n })
        : await open(budget)
      const freeAtOpen = await free()
      // The model: what the escrow should hold for each provider, what it paid, what it signed.
      const reserved = new Map<Address, bigint>()
      const claimed = new Map<Address, bigint>()
      const signed = new Map<Address, bigint>()
      let paid = 0n
      let released = 0n
      let finalized = false
      // A settlement that paid every reservation: claims are refused from then on.
      let settledInFull = false
      const check = async (what: string) => {
        const keptAsBalance = fromBalance ? released : 0n
        assert.equal(await escrowBalance() - start, budget - paid - released + keptAsBalance, `round ${round}: ${what}`)
        if (fromBalance) assert.equal(await free() - freeAtOpen, released, `round ${round}: ${what}: what the job released is free in the balance`)
        const job = await readEscrowJob(requester, jobKey)
        assert.equal(job.paid, paid, `round ${round}: ${what}`)
        assert.ok(job.reserved <= job.budget, `round ${round}: ${what}: reservations within the budget`)
      }
      const claim = async (provider: LedgerClient) => {
        const address = provider.account.address
        const cumulative = signed.get(address) ?? 0n
        const covered = cumulative < (reserved.get(address) ?? 0n) ? cumulative : reserved.get(address) ?? 0n
        const already = claimed.get(address) ?? 0n
        const outcome = await claimPayment(provider, receipt(jobKey, address, cumulative)).then(() => 'paid', (e: LedgerError) => e.reason)
        if (settledInFull) assert.equal(outcome, 'AlreadySettled')
        else if (cumulative <= already) assert.equal(outcome, 'ReceiptNotNewer')
        else if (covered <= already) assert.equal(outcome, 'NotReserved')
        else {
          assert.equal(outcome, 'paid')
          paid += covered - already
          claimed.set(address, covered)
        }
      }
      for (let step = 0; step < 10; step++) {
        const provider = providers[random(providers.length)]!
        const address = provider.account.address
        const action = random(finalized ? 2 : 5)
        if (action === 0) {
          // A new receipt, sometimes beyond the provider's reservation.
          signed.set(address, (signed.get(address) ?? 0n) + parseEther(String(random(15))))
        } else if (action === 1) {
          await claim(provider)
        } else if (action === 2 || action === 3) {
          const amount = (reserved.get(address) ?? 0n) + parseEther(String(random(30)))
          const total = [...reserved.values()].reduce((sum, r) => sum + r, 0n) - (reserved.get(address) ?? 0n) + amount
          const outcome = await reservePayments(requester, jobKey, [{ provider: address, amount }]).then(() => 'reserved', (e: LedgerError) => e.reason)
          assert.equal(outcome, total > budget ? 'OverBudget' : 'reserved')
          if (outcome === 'reserved') reserved.set(address, amount)
        } else {
          // The requester settles, paying each provider some amount, perhaps less than it signed.
          const owed = providers.map(p => p.account.address).filter(() => random(2) === 0).map(p => ({ provider: p, cumulativeAmount: (signed.get(p) ?? 0n) * BigInt(random(3)) / 2n }))
          const raised = new Map(reserved)
          for (const { provider: p, cumulativeAmount } of owed) if (cumulativeAmount > (raised.get(p) ?? 0n)) raised.set(p, cumulativeAmount)
          const total = [...raised.values()].reduce((sum, r) => sum + r, 0n)
          const outcome = await finalizeJob(requester, jobKey, keccak256(toHex(round)), owed).then(() => 'finalized', (e: LedgerError) => e.reason)
          if (total > budget) {
            assert.equal(outcome, 'OverBudget')
          } else {
            assert.equal(outcome, 'finalized')
            for (const { provider: p, cumulativeAmount } of owed) {
              const already = claimed.get(p) ?? 0n
              if (cumulativeAmount > already) {
                paid += cumulativeAmount - already
                claimed.set(p, cumulativeAmount)
              }
            }
            reserved.clear()
            for (const [p, r] of raised) reserved.set(p, r)
            released += budget - total
            finalized = true
            settledInFull = paid === total
          }
        }
        await check(`step ${step}`)
      }
      // The guarantee: every provider can still claim its receipt up to its reservation.
      for (const provider of providers) {
        const address = provider.account.address
        if ((signed.get(address) ?? 0n) > (claimed.get(address) ?? 0n)) await claim(provider)
        const expected = (signed.get(address) ?? 0n) < (reserved.get(address) ?? 0n) ? signed.get(address) ?? 0n : reserved.get(address) ?? 0n
        assert.ok((claimed.get(address) ?? 0n) >= expected, `round ${round}: ${address} was paid its receipt within its reservation`)
      }
      await check('after the last claims')
      await timeTravel(3600n + grace)
      await refundJob(requester, jobKey)
      released += budget - paid - released
      if (fromBalance) {
        assert.equal(await free() - freeAtOpen, released, `round ${round}: all that was not paid is free in the balance`)
        await withdrawFromEscrow(requester, released)
      }
      assert.equal(await escrowBalance(), start, `round ${round}: a closed job leaves nothing behind`)
    }
  })

  it('the token has a fixed supply and 18 decimals', async () => {
    const read = <N extends 'decimals' | 'totalSupply' | 'symbol'>(functionName: N) => requester.public.readContract({ address: chain.info.token, abi: conunTokenAbi, functionName })
    assert.equal(await read('decimals'), 18)
    assert.equal(await read('symbol'), 'CON')
    assert.equal(await read('totalSupply'), parseEther('1000000000'))
  })
})

describe('JobEscrow: the standing balance', () => {
  const free = (client: LedgerClient = requester) => readEscrowBalance(client, client.account.address)
  // Straight to the contract: withdrawFromEscrow refuses too much before signing, and the escrow must as well.
  const withdrawRaw = (client: LedgerClient, amount: bigint) => sendContract(client, { address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'withdraw', args: [amount] })
  async function openFromBalance (budget: bigint, client: LedgerClient = requester, id = `job-${randomBytes(4).toString('hex')}`) {
    const jobId = onchainJobId(client.account.address, id)
    const { jobKey, gasUsed } = await openJobFromBalance(client, { jobId, specHash: keccak256(toHex(id)), budget, deadline: (await now(client)) + 3600n })
    return { jobId, jobKey, gasUsed, id }
  }

  it('a deposit with a permit funds several jobs without a token moving; each job\'s unspent rest goes back to the balance, and only the free part can be withdrawn', async () => {
    const [a, b] = providers.map(p => p.account.address) as [Address, Address]
    const wallet = await con(requester.account.address)
    const inEscrow = await con(chain.info.escrow)
    const start = await free()
    await depositToEscrow(requester, parseEther('50'))
    assert.equal(await free(), start + parseEther('50'))
    assert.equal(wallet - await con(requester.account.address), parseEther('50'))

    const first = await openFromBalance(parseEther('20'))
    const second = await openFromBalance(parseEther('20'))
    assert.ok(first.gasUsed < 60_000n, `opening from the balance used ${first.gasUsed} gas`)
    assert.equal(await free(), start + parseEther('10'))
    assert.equal(await con(chain.info.escrow) - inEscrow, parseEther('50'), 'opening moved no token')
    const job = await readEscrowJob(requester, first.jobKey)
    assert.equal(job.requester, requester.account.address)
    assert.equal(job.budget, parseEther('20'))
    assert.equal(await readJobSpecHash(requester, first.jobKey), keccak256(toHex(first.id)))

    // Providers are paid in tokens as before; what nobody reserved returns to the balance, not the wallet.
    const before = { a: await con(a), b: await con(b), wallet: await con(requester.account.address) }
    await reservePayments(requester, first.jobKey, [{ provider: a, amount: parseEther('4') }])
    await claimPayment(providers[0]!, receipt(first.jobKey, a, parseEther('4')))
    await finalizeJob(requester, first.jobKey, keccak256('0x01'), [{ provider: a, cumulativeAmount: parseEther('6') }, { provider: b, cumulativeAmount: parseEther('3') }])
    assert.equal(await con(a) - before.a, parseEther('6'))
    assert.equal(await con(b) - before.b, parseEther('3'))
    assert.equal(await con(requester.account.address), before.wallet)
    assert.equal(await free(), start + parseEther('21'))
    const settled = await readEscrowJob(requester, first.jobKey)
    assert.deepEqual([settled.budget, settled.reserved, settled.paid, settled.finalized, settled.closed], [parseEther('9'), parseEther('9'), parseEther('9'), true, false])
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(first.jobKey, a, parseEther('6')))), 'AlreadySettled', 'the settlement paid it')

    // What the open second job holds cannot be withdrawn; the free part can.
    assert.equal(await refusal(withdrawRaw(requester, start + parseEther('21') + 1n)), 'InsufficientBalance')
    assert.equal(await refusal(withdrawFromEscrow(requester, start + parseEther('21') + 1n)), 'InsufficientBalance')
    await withdrawFromEscrow(requester, parseEther('21'))
    assert.equal(await free(), start)
    assert.equal(await con(requester.account.address) - before.wallet, parseEther('21'))
    assert.equal(await refusal(openFromBalance(start + 1n)), 'InsufficientBalance', 'a job beyond the free balance')
    await finalizeJob(requester, second.jobKey, keccak256('0x02'), [])
    assert.equal(await free(), start + parseEther('20'))
  })

  it('refuses what a requester or a stranger must not get: more than is free, beyond a job\'s cap, a second settlement, another\'s job or balance, a job reused after expiry', async () => {
    const a = providers[0]!.account.address
    await depositToEscrow(requester, parseEther('30'))
    const start = await free()
    const { jobId, jobKey } = await openFromBalance(parseEther('10'))
    assert.equal(await refusal(reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('11') }])), 'OverBudget', 'reserving beyond the cap, though the balance holds more')
    assert.equal(await refusal(finalizeJob(requester, jobKey, keccak256('0x01'), [{ provider: a, cumulativeAmount: parseEther('11') }])), 'OverBudget', 'settling beyond the cap')
    assert.equal(await refusal(finalizeJob(stranger, jobKey, keccak256('0x01'), [{ provider: stranger.account.address, cumulativeAmount: 1n }])), 'NotRequester')
    assert.equal(await refusal(reservePayments(stranger, jobKey, [{ provider: a, amount: 1n }])), 'NotRequester')
    assert.equal(await refusal(withdrawRaw(stranger, 1n)), 'InsufficientBalance', 'a stranger has no balance here')
    assert.equal(await refusal(openJobFromBalance(stranger, { jobId: keccak256('0x05'), specHash: keccak256('0x05'), budget: 1n, deadline: (await now(stranger)) + 60n })), 'InsufficientBalance', 'a stranger cannot open from the requester\'s balance')
    assert.equal(await refusal(openJobFromBalance(requester, { jobId, specHash: keccak256('0x01'), budget: 1n, deadline: (await now(requester)) + 60n })), 'JobExists')
    assert.equal(await refusal(openFromBalance(0n)), 'BadBudget')
    assert.equal(await refusal(openJobFromBalance(requester, { jobId: keccak256('0x06'), specHash: keccak256('0x06'), budget: 1n, deadline: await now(requester) })), 'BadDeadline')

    await reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('4') }])
    const held = receipt(jobKey, a, parseEther('4'))
    // The requester settles paying the provider nothing: the reserved 4 stay claimable, the rest is free again.
    await finalizeJob(requester, jobKey, keccak256('0x01'), [{ provider: a, cumulativeAmount: 0n }])
    assert.equal(await refusal(finalizeJob(requester, jobKey, keccak256('0x01'), [])), 'AlreadyFinalized', 'double settlement')
    assert.equal(await refusal(reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('5') }])), 'AlreadyFinalized')
    assert.equal(await free(), start - parseEther('4'))
    assert.equal(await refusal(withdrawRaw(requester, start)), 'InsufficientBalance', 'the reservation is not the requester\'s to withdraw')
    const before = await con(a)
    await claimPayment(providers[0]!, held)
    assert.equal(await con(a) - before, parseEther('4'))
    assert.equal(await refusal(claimPayment(providers[0]!, held)), 'ReceiptNotNewer', 'a receipt is paid once')

    // After the claim window: the unpaid rest (none here) returns to the balance, once; the job stays closed for good.
    await timeTravel(grace + 1n)
    await refundJob(stranger, jobKey)
    assert.equal(await free(), start - parseEther('4'))
    assert.equal(await refusal(refundJob(requester, jobKey)), 'JobClosed', 'double refund')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobKey, a, parseEther('8')))), 'JobClosed')
    assert.equal(await refusal(openJobFromBalance(requester, { jobId, specHash: keccak256('0x01'), budget: 1n, deadline: (await now(requester)) + 60n })), 'JobExists', 'a job id is never reused, so old receipts never draw on a new job')
  })

  it('an expired job that was never settled gives back all that nobody claimed to the balance', async () => {
    const a = providers[1]!.account.address
    await depositToEscrow(requester, parseEther('10'))
    const start = await free()
    const { jobKey } = await openFromBalance(parseEther('10'))
    await reservePayments(requester, jobKey, [{ provider: a, amount: parseEther('3') }])
    await claimPayment(providers[1]!, receipt(jobKey, a, parseEther('2')))
    assert.equal(await refusal(refundJob(requester, jobKey)), 'RefundTooEarly')
    await timeTravel(3600n + grace)
    await refundJob(requester, jobKey)
    assert.equal(await free(), start - parseEther('2'), 'all but what the provider claimed')
    assert.equal(await refusal(claimPayment(providers[1]!, receipt(jobKey, a, parseEther('3')))), 'JobClosed', 'nothing leaves a refunded job')
  })
})
