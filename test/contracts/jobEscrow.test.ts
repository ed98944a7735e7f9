import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { encodeFunctionData, keccak256, parseEther, parseEventLogs, parseGwei, toHex } from 'viem'
import { announceRelease, claimPayment, conunTokenAbi, createLedgerClient, depositToEscrow, fundFromFaucet, jobEscrowAbi, LedgerError, loadArtifacts, onchainJobId, readBalances, readEscrowBalance, readLine, receiptDigest, reentrantTokenAbi, releaseLine, reserveLines, sendContract, settleJob, signReceipt, startDevChain, withdrawFromEscrow } from '../../src/ledger/index.ts'
import type { DevChain, LedgerClient } from '../../src/ledger/index.ts'
import type { Address } from 'viem'

/**
 * JobEscrow on the real EVM (Hardhat's EDR), driven through conun's own ledger client: a
 * requester's standing balance, its payment lines to providers that many jobs draw on, receipts,
 * claims and settlements, every refusal, what a requester can no longer take back from a provider
 * holding a receipt, a release and its notice, a reentrant token, and random sequences of all of
 * these that must conserve funds and pay every receipt within its line's reservation.
 */

type Account = LedgerClient & { secret: Uint8Array }
let chain: DevChain
let requester: Account
let providers: Account[]
let stranger: Account
let notice: bigint

async function newAccount (): Promise<Account> {
  const secret = randomBytes(32)
  const client = createLedgerClient(chain.info, secret)
  await fundFromFaucet(chain.info, client.account.address)
  return Object.assign(client, { secret })
}

const receipt = (provider: Address, cumulativeAmount: bigint, signer: Account = requester, overrides: { chainId?: number, escrow?: Address, requester?: Address } = {}) => {
  const named = overrides.requester ?? signer.account.address
  return {
    requester: named,
    provider,
    cumulativeAmount,
    signature: signReceipt(signer.secret, { chainId: overrides.chainId ?? chain.info.chainId, escrow: overrides.escrow ?? chain.info.escrow, requester: named, provider, cumulativeAmount }),
  }
}
async function timeTravel (seconds: bigint) {
  await requester.public.request({ method: 'evm_increaseTime' as never, params: [Number(seconds)] as never })
  await requester.public.request({ method: 'evm_mine' as never, params: [] as never })
}
const con = async (address: Address) => (await readBalances(requester, address)).con
const free = (client: LedgerClient = requester) => readEscrowBalance(client, client.account.address)
const line = (provider: Address, of: LedgerClient = requester) => readLine(requester, of.account.address, provider)
/** Seconds until the announced release of the requester's line to `provider` may be done; undefined when none was announced. */
async function releaseWait (client: LedgerClient, provider: Address): Promise<bigint | undefined> {
  const [{ releaseAt }, head] = await Promise.all([line(provider, client), client.public.getBlock()])
  if (releaseAt === 0n) return undefined
  return releaseAt > head.timestamp ? releaseAt - head.timestamp : 0n
}
const jobId = (name = `job-${randomBytes(4).toString('hex')}`) => onchainJobId(requester.account.address, name)
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
  notice = await requester.public.readContract({ address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'RELEASE_NOTICE' })
})
after(async () => { await chain.close() })

describe('JobEscrow', () => {
  it('a deposit funds lines that receipts are claimed on, and settlements of several jobs pay each provider up to what it is owed over all of them', async () => {
    const [a, b, c] = providers.map(p => p.account.address) as [Address, Address, Address]
    const wallet = await con(requester.account.address)
    const start = { free: await free(), a: await con(a), b: await con(b), c: await con(c) }
    await depositToEscrow(requester, parseEther('100'))
    assert.equal(wallet - await con(requester.account.address), parseEther('100'))
    assert.equal(await free(), start.free + parseEther('100'))

    const onChainDigest = await requester.public.readContract({ address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'receiptDigest', args: [requester.account.address, a, 7n] })
    assert.equal(onChainDigest, receiptDigest({ chainId: chain.info.chainId, escrow: chain.info.escrow, requester: requester.account.address, provider: a, cumulativeAmount: 7n }))
    const reserved = await reserveLines(requester, [{ provider: a, amount: parseEther('30') }, { provider: b, amount: parseEther('10') }])
    // Two new slots of 22,100 gas each.
    assert.ok(reserved.gasUsed < 85_000n, `reserving on two new lines used ${reserved.gasUsed} gas`)
    assert.deepEqual(await line(a), { reserved: parseEther('30'), paid: 0n, releaseAt: 0n })
    assert.equal(await free(), start.free + parseEther('60'))

    // A claims a receipt; a settlement of the first job then pays everyone what is left of what it is owed.
    await claimPayment(providers[0]!, receipt(a, parseEther('10')))
    assert.equal(await con(a) - start.a, parseEther('10'))
    const first = await settleJob(requester, jobId(), keccak256('0x01'), [{ provider: a, cumulativeAmount: parseEther('12') }, { provider: b, cumulativeAmount: parseEther('3') }, { provider: c, cumulativeAmount: parseEther('1') }])
    assert.deepEqual([await con(a) - start.a, await con(b) - start.b, await con(c) - start.c], [parseEther('12'), parseEther('3'), parseEther('1')])
    assert.deepEqual(await line(a), { reserved: parseEther('30'), paid: parseEther('12'), releaseAt: 0n })
    assert.deepEqual(await line(c), { reserved: parseEther('1'), paid: parseEther('1'), releaseAt: 0n }, 'what c\'s line lacked came from the balance')
    assert.equal(await free(), start.free + parseEther('59'))
    const logs = parseEventLogs({ abi: jobEscrowAbi, logs: (await requester.public.getTransactionReceipt({ hash: first.hash })).logs, eventName: 'JobSettled' })
    assert.equal(logs[0]?.args.resultRoot, keccak256('0x01'))
    assert.equal(logs[0]?.args.paid, parseEther('6'))

    // The second job on the same lines: a settlement writes three slots that exist (and the balance,
    // which c's line draws on again), and moves the tokens.
    const second = await settleJob(requester, jobId(), keccak256('0x02'), [{ provider: a, cumulativeAmount: parseEther('20') }, { provider: b, cumulativeAmount: parseEther('8') }, { provider: c, cumulativeAmount: parseEther('2') }])
    assert.ok(second.gasUsed < 95_000n, `settling three providers on their lines used ${second.gasUsed} gas`)
    assert.deepEqual([await con(a) - start.a, await con(b) - start.b, await con(c) - start.c], [parseEther('20'), parseEther('8'), parseEther('2')])
    // A settlement that lists a provider twice, or pays no more than it has, pays nothing more; it
    // may reserve ahead for the next job from the balance.
    const freeBefore = await free()
    await settleJob(requester, jobId(), keccak256('0x03'), [{ provider: b, cumulativeAmount: parseEther('9') }, { provider: b, cumulativeAmount: parseEther('9') }, { provider: a, cumulativeAmount: parseEther('5'), reserveTo: parseEther('32') }])
    assert.deepEqual([await con(a) - start.a, await con(b) - start.b], [parseEther('20'), parseEther('9')])
    assert.deepEqual(await line(a), { reserved: parseEther('32'), paid: parseEther('20'), releaseAt: 0n })
    assert.equal(freeBefore - await free(), parseEther('2'), 'a\'s reservation drew 2 from the balance; b\'s 9 were within its line')
    assert.equal(await con(chain.info.escrow), parseEther('100') - parseEther('31'), 'the escrow holds what it was given less what it paid')
  })

  it('refuses every receipt, reservation, settlement and withdrawal it must not accept', async () => {
    const [a, b] = providers.map(p => p.account.address) as [Address, Address]
    await depositToEscrow(requester, parseEther('10'))
    const at = await line(a)
    await reserveLines(requester, [{ provider: a, amount: at.reserved + parseEther('5') }])
    await settleJob(requester, jobId(), keccak256('0x01'), [{ provider: a, cumulativeAmount: at.reserved }])
    const owed = at.reserved + parseEther('4')
    await claimPayment(providers[0]!, receipt(a, owed))
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(a, owed))), 'NothingToClaim', 'replay')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(a, owed - 1n))), 'NothingToClaim', 'older receipt')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(a, owed + 1n, stranger, { requester: requester.account.address }))), 'BadReceiptSigner', 'signed by someone else in the requester\'s name')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(a, owed + 1n, requester, { chainId: 1 }))), 'BadReceiptSigner', 'receipt for another chain')
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(a, owed + 1n, requester, { escrow: chain.info.token }))), 'BadReceiptSigner', 'receipt for another escrow')
    const toA = receipt(a, owed + 1n)
    assert.equal(await refusal(claimPayment(providers[1]!, { ...toA, provider: b })), 'BadReceiptSigner', 'receipt of another provider')
    assert.equal(await refusal(claimPayment(stranger, receipt(stranger.account.address, 1n))), 'NothingToClaim', 'no line to it')
    // A stranger's own receipts draw on the stranger's lines, which hold nothing.
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(a, 1n, stranger))), 'NothingToClaim', 'a line of another requester')
    // A receipt beyond the reservation pays what is reserved, and nothing more until it grows.
    await claimPayment(providers[0]!, receipt(a, owed + parseEther('5')))
    assert.equal((await line(a)).paid, at.reserved + parseEther('5'))
    assert.equal(await refusal(claimPayment(providers[0]!, receipt(a, owed + parseEther('5')))), 'NothingToClaim', 'beyond the reservation')
    assert.equal(await refusal(reserveLines(requester, [{ provider: a, amount: 1n }])), 'ReservationLowered')
    assert.equal(await refusal(sendContract(requester, { address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'reserve', args: [[a, b], [1n]] })), 'LengthMismatch')
    assert.equal(await refusal(sendContract(requester, { address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'settle', args: [jobId(), keccak256('0x01'), [a], [], []] })), 'LengthMismatch')
    const balance = await free()
    assert.equal(await refusal(reserveLines(requester, [{ provider: b, amount: (await line(b)).reserved + balance + 1n }])), 'InsufficientBalance', 'reserving beyond the balance')
    assert.equal(await refusal(settleJob(requester, jobId(), keccak256('0x01'), [{ provider: b, cumulativeAmount: (await line(b)).reserved + balance + 1n }])), 'InsufficientBalance', 'settling beyond the balance')
    assert.equal(await refusal(sendContract(requester, { address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'withdraw', args: [balance + 1n] })), 'InsufficientBalance', 'withdrawing what lines hold')
    assert.equal(await refusal(withdrawFromEscrow(requester, balance + 1n)), 'InsufficientBalance', 'refused before signing too')
    assert.equal(await refusal(sendContract(stranger, { address: chain.info.escrow, abi: jobEscrowAbi, functionName: 'withdraw', args: [1n] })), 'InsufficientBalance', 'a stranger has no balance here')
    assert.equal(await refusal(reserveLines(stranger, [{ provider: a, amount: 1n }])), 'InsufficientBalance', 'a stranger cannot reserve from the requester\'s balance')
    assert.equal(await refusal(settleJob(stranger, jobId(), keccak256('0x01'), [{ provider: stranger.account.address, cumulativeAmount: 1n }])), 'InsufficientBalance', 'nor settle from it')
    assert.equal(await refusal(releaseLine(requester, b)), 'NoRelease')
    assert.equal(await free(), balance, 'nothing refused moved anything')
  })

  it('a release takes back only what its provider did not claim during the notice; a raise withdraws it', async () => {
    const a = providers[2]!.account.address
    await depositToEscrow(requester, parseEther('20'))
    const at = await line(a)
    await reserveLines(requester, [{ provider: a, amount: at.reserved + parseEther('8') }])
    const held = receipt(a, at.paid + parseEther('5'))
    const start = { free: await free(), a: await con(a) }
    await announceRelease(requester, a)
    assert.equal(await releaseWait(requester, a), notice)
    assert.equal(await refusal(releaseLine(requester, a)), 'ReleaseTooEarly')
    // The provider sees the announcement and claims its receipt within the notice.
    await timeTravel(notice - 60n)
    await claimPayment(providers[2]!, held)
    await timeTravel(60n)
    await releaseLine(stranger, a).then(() => assert.fail('a stranger released the requester\'s line'), () => {})
    await releaseLine(requester, a)
    assert.equal(await con(a) - start.a, parseEther('5'))
    assert.equal(await free() - start.free, at.reserved - at.paid + parseEther('3'), 'what the line held unpaid is free again')
    assert.deepEqual(await line(a), { reserved: at.paid + parseEther('5'), paid: at.paid + parseEther('5'), releaseAt: 0n })
    assert.equal(await refusal(releaseLine(requester, a)), 'NoRelease', 'a release is done once')
    assert.equal(await refusal(claimPayment(providers[2]!, receipt(a, at.paid + parseEther('7')))), 'NothingToClaim', 'nothing is reserved beyond what was paid')
    // An announcement withdrawn by a raise: the provider keeps working, and no release follows.
    await announceRelease(requester, a)
    await reserveLines(requester, [{ provider: a, amount: at.paid + parseEther('6') }])
    assert.equal(await releaseWait(requester, a), undefined)
    await timeTravel(notice)
    assert.equal(await refusal(releaseLine(requester, a)), 'NoRelease')
  })

  it('front-run claim: a settlement mined just before a provider\'s claim does not make the claim fail', async () => {
    const a = providers[0]!.account.address
    await depositToEscrow(requester, parseEther('40'))
    const at = await line(a)
    await reserveLines(requester, [{ provider: a, amount: at.reserved + parseEther('40') }])
    const before = await con(a)
    const setAutomine = (on: boolean) => requester.public.request({ method: 'evm_setAutomine' as never, params: [on] as never })
    await setAutomine(false)
    try {
      const claimNonce = await providers[0]!.public.getTransactionCount({ address: a, blockTag: 'pending' })
      const claimed = claimPayment(providers[0]!, receipt(a, at.reserved + parseEther('40')))
      // The requester sees the claim waiting and outbids it with a settlement that pays nothing.
      while (await providers[0]!.public.getTransactionCount({ address: a, blockTag: 'pending' }) === claimNonce) await new Promise(resolve => setTimeout(resolve, 20))
      const settlement = await requester.wallet.writeContract({
        address: chain.info.escrow,
        abi: jobEscrowAbi,
        functionName: 'settle',
        args: [jobId(), keccak256('0x01'), [a], [0n], [0n]],
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
    assert.equal(await con(a) - before, at.reserved + parseEther('40') - at.paid)
  })

  it('a reentrant token cannot make the escrow pay twice', async () => {
    const artifacts = await loadArtifacts()
    const hash = await requester.wallet.deployContract({ abi: artifacts.ReentrantToken.abi, bytecode: artifacts.ReentrantToken.bytecode, args: [requester.account.address, parseEther('1000')] })
    const evil = (await requester.public.waitForTransactionReceipt({ hash })).contractAddress!
    const escrowHash = await requester.wallet.deployContract({ abi: artifacts.JobEscrow.abi, bytecode: artifacts.JobEscrow.bytecode, args: [evil] })
    const escrow = (await requester.public.waitForTransactionReceipt({ hash: escrowHash })).contractAddress!
    const onEvil = createLedgerClient({ ...chain.info, token: evil, escrow }, requester.secret)
    await sendContract(onEvil, { address: evil, abi: reentrantTokenAbi, functionName: 'approve', args: [escrow, parseEther('100')] })
    await sendContract(onEvil, { address: escrow, abi: jobEscrowAbi, functionName: 'deposit', args: [parseEther('100')] })
    const a = providers[0]!.account.address
    await reserveLines(onEvil, [{ provider: a, amount: parseEther('50') }])
    const claim = receipt(a, parseEther('10'), requester, { escrow })
    // The token replays the very claim being paid from inside the escrow's transfer.
    const reentry = encodeFunctionData({ abi: jobEscrowAbi, functionName: 'claim', args: [claim.requester, a, claim.cumulativeAmount, claim.signature] })
    await sendContract(onEvil, { address: evil, abi: reentrantTokenAbi, functionName: 'arm', args: [escrow, reentry] })
    await claimPayment(onEvil, claim)
    const read = (functionName: 'reentered' | 'reentrySucceeded') => onEvil.public.readContract({ address: evil, abi: reentrantTokenAbi, functionName })
    assert.equal(await read('reentered'), true)
    assert.equal(await read('reentrySucceeded'), false)
    assert.equal(await onEvil.public.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [a] }), parseEther('10'))
    assert.equal(await onEvil.public.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [escrow] }), parseEther('90'))
  })

  it('random deposits, reservations, receipts, claims, settlements and releases conserve funds and pay every receipt up to its reservation', async () => {
    let seed = 42
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    // A requester of its own, so that the model starts from empty lines.
    const payer = await newAccount()
    await sendContract(requester, { address: chain.info.token, abi: conunTokenAbi, functionName: 'transfer', args: [payer.account.address, parseEther('2000')] })
    const startEscrow = await con(chain.info.escrow)
    // The model: each line's reservation and payments, what was signed, the free balance, what left the escrow.
    const reserved = new Map<Address, bigint>()
    const paid = new Map<Address, bigint>()
    const signed = new Map<Address, bigint>()
    let balance = 0n
    let deposited = 0n
    let out = 0n
    const get = (map: Map<Address, bigint>, key: Address) => map.get(key) ?? 0n
    const check = async (what: string) => {
      const held = [...reserved.keys()].reduce((sum, p) => sum + get(reserved, p) - get(paid, p), 0n)
      assert.equal(await con(chain.info.escrow) - startEscrow, deposited - out, what)
      assert.equal(deposited - out, balance + held, `${what}: the escrow holds the free balance and the lines' unpaid reservations`)
      assert.equal(await free(payer), balance, what)
      for (const p of reserved.keys()) assert.deepEqual(await readLine(payer, payer.account.address, p).then(l => [l.reserved, l.paid]), [get(reserved, p), get(paid, p)], `${what}: ${p}`)
    }
    const claim = async (provider: Account) => {
      const address = provider.account.address
      const covered = get(signed, address) < get(reserved, address) ? get(signed, address) : get(reserved, address)
      const outcome = await claimPayment(provider, receipt(address, get(signed, address), payer)).then(() => 'paid', (e: LedgerError) => e.reason)
      if (covered <= get(paid, address)) return assert.equal(outcome, 'NothingToClaim')
      assert.equal(outcome, 'paid')
      out += covered - get(paid, address)
      paid.set(address, covered)
    }
    for (let step = 0; step < 60; step++) {
      const provider = providers[random(providers.length)]!
      const address = provider.account.address
      const action = random(7)
      if (action === 0) {
        const amount = parseEther(String(1 + random(40)))
        await depositToEscrow(payer, amount)
        balance += amount
        deposited += amount
      } else if (action === 1) {
        // A new receipt, sometimes beyond the line's reservation.
        signed.set(address, get(signed, address) + parseEther(String(random(15))))
      } else if (action === 2) {
        await claim(provider)
      } else if (action === 3) {
        const amount = get(reserved, address) + parseEther(String(random(30)))
        const outcome = await reserveLines(payer, [{ provider: address, amount }]).then(() => 'reserved', (e: LedgerError) => e.reason)
        if (amount - get(reserved, address) > balance) {
          assert.equal(outcome, 'InsufficientBalance')
        } else {
          assert.equal(outcome, 'reserved')
          balance -= amount - get(reserved, address)
          reserved.set(address, amount)
        }
      } else if (action === 4) {
        // The requester settles a job, paying each listed provider some amount, perhaps less than it
        // signed, and sometimes reserving ahead.
        const owed = providers.map(p => p.account.address).filter(() => random(2) === 0).map(p => {
          const cumulativeAmount = get(signed, p) * BigInt(random(3)) / 2n
          return { provider: p, cumulativeAmount, reserveTo: cumulativeAmount + parseEther(String(random(2) * random(10))) }
        })
        const drawn = owed.reduce((sum, { provider: p, reserveTo }) => sum + (reserveTo > get(reserved, p) ? reserveTo - get(reserved, p) : 0n), 0n)
        const outcome = await settleJob(payer, jobId(), keccak256(toHex(step)), owed).then(() => 'settled', (e: LedgerError) => e.reason)
        if (drawn > balance) {
          assert.equal(outcome, 'InsufficientBalance')
        } else {
          assert.equal(outcome, 'settled')
          balance -= drawn
          for (const { provider: p, cumulativeAmount, reserveTo } of owed) {
            if (reserveTo > get(reserved, p)) reserved.set(p, reserveTo)
            if (cumulativeAmount <= get(paid, p)) continue
            out += cumulativeAmount - get(paid, p)
            paid.set(p, cumulativeAmount)
          }
        }
      } else if (action === 5) {
        // A release: announced, the provider claims within the notice, then the rest goes back.
        await announceRelease(payer, address)
        await claim(provider)
        await timeTravel(notice)
        await releaseLine(payer, address)
        balance += get(reserved, address) - get(paid, address)
        reserved.set(address, get(paid, address))
      } else {
        const amount = balance / BigInt(1 + random(3))
        if (amount > 0n) {
          await withdrawFromEscrow(payer, amount)
          balance -= amount
          out += amount
        }
      }
      await check(`step ${step} (action ${action})`)
    }
    // The guarantee: every provider can still claim its receipt up to its reservation.
    for (const provider of providers) {
      const address = provider.account.address
      await claim(provider).catch(() => {})
      const expected = get(signed, address) < get(reserved, address) ? get(signed, address) : get(reserved, address)
      assert.ok(get(paid, address) >= expected, `${address} was paid its receipt within its reservation`)
    }
    await check('after the last claims')
  })

  it('the token has a fixed supply and 18 decimals', async () => {
    const read = <N extends 'decimals' | 'totalSupply' | 'symbol'>(functionName: N) => requester.public.readContract({ address: chain.info.token, abi: conunTokenAbi, functionName })
    assert.equal(await read('decimals'), 18)
    assert.equal(await read('symbol'), 'CON')
    assert.equal(await read('totalSupply'), parseEther('1000000000'))
  })
})
