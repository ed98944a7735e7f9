import assert from 'node:assert/strict'
import { test } from 'node:test'
import { paymentsLine } from './paymentsLine.ts'
import type { PaymentStatus } from '../../requester/index.ts'

const settled: PaymentStatus = { state: 'finalized', jobKey: '0x01', escrowWei: '118800000000000000', owedWei: '108000000000000000', paidWei: '108000000000000000', gasUsed: '315281', txCount: 5 }

test('a settled job shows its budget, owed, paid and gas; a failed settlement its error', () => {
  assert.equal(paymentsLine(null), 'payments: none (this job runs unpaid)')
  assert.equal(paymentsLine(settled), 'payments (finalized): budget 0.1188 CON · owed 0.108 CON · paid 0.108 CON · gas 315,281 in 5 tx')
  assert.equal(paymentsLine({ ...settled, state: 'finalize-failed', paidWei: '0', error: 'rpc down' }), 'payments (finalize-failed): budget 0.1188 CON · owed 0.108 CON · paid 0 CON · gas 315,281 in 5 tx · rpc down')
})
