import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { encodeFunctionData, keccak256, parseEther, toHex } from 'viem'
import { claimPayment, conunTokenAbi, createLedgerClient, finalizeJob, fundFromFaucet, jobEscrowAbi, LedgerError, loadArtifacts, onchainJobId, openJob, readBalances, readEscrowJob, readJobSpecHash, receiptDigest, reentrantTokenAbi, refundJob, sendContract, signReceipt, startDevChain } from '../../src/ledger/index.ts'
import type { DevChain, LedgerClient } from '../../src/ledger/index.ts'
import type { Address, Hex } from 'viem'

/**
 * JobEscrow on the real EVM (Hardhat's EDR), driven through conun's own ledger client: the
 * happy path, every refusal, a reentrant token, and random receipt sequences that must conserve funds.
 */

let chain: DevChain
let requester: LedgerClient & { secret: Uint8Array }
let providers: Array<LedgerClient & { secret: Uint8Array }>
let stranger: LedgerClient & { secret: Uint8Array }

async function newAccount (): Promise<LedgerClient & { secret: Uint8Array }> {
  const secret = randomBytes(32)
  const client = createLedgerClient(chain.info, secret)
  await fundFromFaucet(chain.info, client.account.address)
  return Object.assign(client, { secret })
}

const now = async (client: LedgerClient) => (await client.public.getBlock()).timestamp
async function open (budget: bigint, id = `job-${randomBytes(4).toString('hex')}`) {
  const jobId = onchainJobId(requester.account.address, id)
  const specHash = keccak256(toHex(id))
  await openJob(requester, { jobId, specHash, budget, deadline: (await now(requester)) + 3600n })
  return { jobId, specHash }
}
const receipt = (jobId: Hex, provider: Address, cumulativeAmount: bigint, signer = requester.secret, overrides: { chainId?: number, escrow?: Address } = {}) => ({
  jobId,
  provider,
  cumulativeAmount,
  signature: signReceipt(signer, { chainId: overrides.chainId ?? chain.info.chainId, escrow: overrides.escrow ?? chain.info.escrow, jobId, provider, cumulativeAmount }),
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
})
after(async () => { await chain.close() })

describe('JobEscrow', () => {
  it('opens a job in one transaction (permit), pays cumulative receipts once, finalises with the rest going back', async () => {
    const [a, b] = providers.map(p => p.account.address) as [Address, Address]
    const before = { requester: await con(requester.account.address), a: await con(a), b: await con(b) }
    const { jobId, specHash } = await open(parseEther('100'))
    assert.equal(await readJobSpecHash(requester, jobId), specHash)
    const job = await readEscrowJob(requester, jobId)
    assert.equal(job.requester, requester.account.address)
    assert.equal(job.budget, parseEther('100'))
    assert.equal(await con(chain.info.escrow), parseEther('100'))

    const onChainDigest = await requester.public.readContract({ address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'receiptDigest', args: [jobId, a, 7n] })
    assert.equal(onChainDigest, receiptDigest({ chainId: chain.info.chainId, escrow: chain.info.escrow, jobId, provider: a, cumulativeAmount: 7n }))
    const claim = await claimPayment(providers[0]!, receipt(jobId, a, parseEther('10')))
    assert.ok(claim.gasUsed < 100_000n, `claim used ${claim.gasUsed} gas`)
    // One later receipt covers everything since: only the difference is paid.
    await claimPayment(providers[0]!, receipt(jobId, a, parseEther('30')))
    assert.equal(await con(a) - before.a, parseEther('30'))

    await finalizeJob(requester, jobId, keccak256(toHex('root')), [{ provider: a, cumulativeAmount: parseEther('50') }, { provider: b, cumulativeAmount: parseEther('20') }])
    assert.equal(await con(a) - before.a, parseEther('50'))
    assert.equal(await con(b) - before.b, parseEther('20'))
    assert.equal(before.requester - await con(requester.account.address), parseEther('70'))
    assert.equal((await readEscrowJob(requester, jobId)).closed, true)
    assert.equal(await refusal(claimPayment(providers[1]!, receipt(jobId, b, parseEther('25')))), 'JobClosed')
  })

  it('refuses every receipt it must not pay', async () => {
    const a = providers[0]!.account.address
    const { jobId } = await open(parseEther('10'))
    const { jobId: otherJob } = await open(parseEther('10'))
    await claimPayment(providers[0]!, receipt(jobId, a, parseEther('4')))
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobId, a, parseEther('4')))), 'ReceiptNotNewer', 'replay')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobId, a, parseEther('3')))), 'ReceiptNotNewer', 'older receipt')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobId, a, parseEther('5'), stranger.secret))), 'BadReceiptSigner', 'wrong signer')
    const forOtherJob = receipt(otherJob, a, parseEther('5'))
    assert.equal(await refusal(claimPayment(providers[0]!, { ...forOtherJob, jobId })), 'BadReceiptSigner', 'receipt of another job')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobId, a, parseEther('5'), requester.secret, { chainId: 1 }))), 'BadReceiptSigner', 'receipt for another chain')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobId, a, parseEther('5'), requester.secret, { escrow: chain.info.token }))), 'BadReceiptSigner', 'receipt for another escrow')
    const toA = receipt(jobId, a, parseEther('5'))
    assert.equal(await refusal(claimPayment(providers[1]!, { ...toA, provider: providers[1]!.account.address })), 'BadReceiptSigner', 'receipt of another provider')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(jobId, a, parseEther('11')))), 'OverBudget', 'more than the budget')
    assert.equal(await refusal(refundJob(requester, jobId)), 'RefundTooEarly')
    assert.equal(await refusal(finalizeJob(stranger, jobId, keccak256('0x01'), [])), 'NotRequester')
    assert.equal(await refusal(openJob(requester, { jobId, specHash: keccak256('0x01'), budget: 1n, deadline: (await now(requester)) + 60n })), 'JobExists')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(keccak256('0x99'), a, 1n))), 'UnknownJob')

    // After the deadline and the grace period the unclaimed rest goes back, once.
    const grace = await requester.public.readContract({ address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'CLAIM_GRACE' })
    await timeTravel(3600n + grace)
    const before = await con(requester.account.address)
    await refundJob(stranger, jobId)
    assert.equal(await con(requester.account.address) - before, parseEther('6'))
    assert.equal(await refusal(refundJob(requester, jobId)), 'JobClosed', 'double refund')
    await refundJob(requester, otherJob)
  })

  it('a reentrant token cannot make the escrow pay twice', async () => {
    const artifacts = await loadArtifacts()
    const hash = await requester.wallet.deployContract({ abi: artifacts.ReentrantToken.abi, bytecode: artifacts.ReentrantToken.bytecode, args: [requester.account.address, parseEther('1000')] })
    const evil = (await requester.public.waitForTransactionReceipt({ hash })).contractAddress!
    const escrowHash = await requester.wallet.deployContract({ abi: artifacts.JobEscrow.abi, bytecode: artifacts.JobEscrow.bytecode, args: [evil] })
    const escrow = (await requester.public.waitForTransactionReceipt({ hash: escrowHash })).contractAddress!
    const onEvil = createLedgerClient({ ...chain.info, token: evil, escrow }, requester.secret)
    const jobId = onchainJobId(requester.account.address, 'evil')
    await sendContract(onEvil, { address: evil, abi: reentrantTokenAbi, functionName: 'approve', args: [escrow, parseEther('100')] })
    await sendContract(onEvil, { address: escrow, abi: jobEscrowAbi, functionName: 'openJob', args: [jobId, keccak256('0x01'), parseEther('100'), Number(await now(requester) + 3600n)] })
    const a = providers[0]!.account.address
    const signature = signReceipt(requester.secret, { chainId: chain.info.chainId, escrow, jobId, provider: a, cumulativeAmount: parseEther('10') })
    // The token replays the very claim being paid from inside the escrow's transfer.
    const reentry = encodeFunctionData({ abi: jobEscrowAbi, functionName: 'claim', args: [jobId, a, parseEther('10'), signature] })
    await sendContract(onEvil, { address: evil, abi: reentrantTokenAbi, functionName: 'arm', args: [escrow, reentry] })
    await sendContract(onEvil, { address: escrow, abi: jobEscrowAbi, functionName: 'claim', args: [jobId, a, parseEther('10'), signature] })
    const read = (functionName: 'reentered' | 'reentrySucceeded') => onEvil.public.readContract({ address: evil, abi: reentrantTokenAbi, functionName })
    assert.equal(await read('reentered'), true)
    assert.equal(await read('reentrySucceeded'), false)
    assert.equal(await onEvil.public.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [a] }), parseEther('10'))
    assert.equal(await onEvil.public.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [escrow] }), parseEther('90'))
  })

  it('random receipt sequences conserve funds: escrow balance = budgets − paid − released, always', async () => {
    let seed = 42
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const escrowBalance = () => con(chain.info.escrow)
    const start = await escrowBalance()
    for (let round = 0; round < 10; round++) {
      const budget = parseEther(String(20 + random(80)))
      const { jobId } = await open(budget)
      const signed = new Map<Address, bigint>()
      let paid = 0n
      for (let step = 0; step < 8; step++) {
        const provider = providers[random(providers.length)]!
        const address = provider.account.address
        const raise = parseEther(String(random(15)))
        const cumulative = (signed.get(address) ?? 0n) + raise
        signed.set(address, cumulative)
        // Some receipts are claimed at once, some later, some never (the final settlement pays them).
        if (random(3) === 0) continue
        const due = cumulative - (await requester.public.readContract({ address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'claimed', args: [jobId, address] }))
        const outcome = await claimPayment(provider, receipt(jobId, address, cumulative)).then(() => 'paid', (e: LedgerError) => e.reason)
        if (paid + due > budget) assert.ok(outcome === 'OverBudget' || outcome === 'ReceiptNotNewer', String(outcome))
        else if (due === 0n) assert.equal(outcome, 'ReceiptNotNewer')
        else {
          assert.equal(outcome, 'paid')
          paid += due
        }
        assert.equal(await escrowBalance() - start, budget - paid, `round ${round} step ${step}`)
        assert.equal((await readEscrowJob(requester, jobId)).paid, paid)
      }
      const owed = [...signed].map(([provider, cumulativeAmount]) => ({ provider, cumulativeAmount }))
      const total = owed.reduce((sum, entry) => sum + entry.cumulativeAmount, 0n)
      const result = await finalizeJob(requester, jobId, keccak256(toHex(round)), owed).then(() => 'finalized', (e: LedgerError) => e.reason)
      if (total > budget) {
        assert.equal(result, 'OverBudget')
        await timeTravel(3600n + 86_400n)
        await refundJob(requester, jobId)
      } else {
        assert.equal(result, 'finalized')
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
