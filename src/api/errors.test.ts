import { test } from 'node:test'
import assert from 'node:assert/strict'
import { z } from 'zod'
import { toApiError } from './errors.ts'
import { JobSpecError, UnknownJobError } from '../requester/index.ts'
import { ContentNotFoundError, ContentTooLargeError } from '../storage/index.ts'
import { LedgerError } from '../ledger/index.ts'
import { ConunError } from '../util/index.ts'

test('a domain error answers with its code, the status of its kind, and its issues', () => {
  const spec = toApiError(new JobSpecError(['runtime: required', 'price: not an amount']))
  assert.deepEqual([spec.status, spec.code, spec.issues], [400, 'invalid-spec', ['runtime: required', 'price: not an amount']])
  assert.deepEqual([toApiError(new UnknownJobError('j1')).status, toApiError(new UnknownJobError('j1')).code], [404, 'unknown-job'])
  assert.deepEqual([toApiError(new ContentTooLargeError('bafy', 10, 'x')).status, toApiError(new LedgerError('reverted')).status], [413, 402])
})

test('an API caller is told what to do next where the domain message does not say', () => {
  const missing = toApiError(new ContentNotFoundError('bafyabc', 'not in the blockstore'))
  assert.equal(missing.status, 404)
  assert.match(missing.message, /^could not read content bafyabc: not in the blockstore\. Upload it to this node first \(POST \/v1\/content\)\.$/)
})

test('internal failures and untyped errors are a 500 that hides their message', () => {
  class BrokenInvariant extends ConunError {
    readonly code = 'broken-invariant'
    readonly kind = 'internal'
  }
  for (const error of [new BrokenInvariant('secret path /root/x'), new Error('secret path /root/x'), 'a string']) {
    const answer = toApiError(error)
    assert.deepEqual([answer.status, answer.code, answer.message], [500, 'internal', 'internal error'])
  }
  const parsed = z.object({ n: z.number() }).safeParse({ n: 'x' })
  const invalid = toApiError(parsed.error)
  assert.deepEqual([invalid.status, invalid.code, invalid.issues], [400, 'invalid-request', ['n: Invalid input: expected number, received string']])
})
