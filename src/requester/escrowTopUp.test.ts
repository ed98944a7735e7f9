import assert from 'node:assert/strict'
import { it } from 'node:test'
import { parseEther } from 'viem'
import { LedgerError } from '../ledger/index.ts'
import { depositDue } from './escrowTopUp.ts'

const con = (amount: string) => parseEther(amount)

it('deposits nothing while the free balance covers the budget, else at least the shortfall and up to the top-up, within the wallet', () => {
  assert.equal(depositDue(con('10'), con('10'), con('100'), con('1000')), 0n, 'the balance covers the job')
  assert.equal(depositDue(con('4'), con('10'), con('100'), con('1000')), con('100'), 'short: the top-up')
  assert.equal(depositDue(con('4'), con('10'), 0n, con('1000')), con('6'), 'no top-up: just the shortfall')
  assert.equal(depositDue(con('4'), con('500'), con('100'), con('1000')), con('496'), 'a job larger than the top-up: its shortfall')
  assert.equal(depositDue(0n, con('10'), con('100'), con('30')), con('30'), 'the top-up capped by what the wallet holds')
  assert.throws(() => depositDue(con('1'), con('10'), con('100'), con('5')), (error: unknown) => error instanceof LedgerError && /needs 9 CON more in the escrow than the 1 CON free there, and the wallet holds only 5 CON \(a budget left to its default is the job's cost and 10 % more/.test(error.message))
})
