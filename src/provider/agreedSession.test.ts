import assert from 'node:assert/strict'
import { test } from 'node:test'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { generateNodeKey } from '../identity/index.ts'
import { EventHub, Semaphore } from '../util/index.ts'
import { AgreedSession } from './agreedSession.ts'
import type { ProviderContext } from './providerContext.ts'
import type { ProviderEvent } from './providerEvents.ts'
import type { AgreementProposalBody, TaskAssignment } from '../net/index.ts'

// When a session ends (its escrow gone, the requester said so), no task of it starts afterwards:
// not one waiting for a slot, nor one whose assignment is read from the stream after the end.

const LIMITS = { memoryBytes: 1 << 20, timeoutMs: 1000, outputBytes: 1 << 20 }

async function sessionWithSlots (slots: number): Promise<{ session: AgreedSession, events: ProviderEvent[], slots: Semaphore }> {
  const key = await generateNodeKey()
  const events = new EventHub<ProviderEvent>()
  const seen: ProviderEvent[] = []
  events.on(event => seen.push(event))
  const semaphore = new Semaphore(slots)
  const context: ProviderContext = {
    key,
    chainId: 1,
    runtimes: new Map(),
    storage: { readBytes: () => Promise.reject(new Error('not read')), putBytes: () => Promise.reject(new Error('not written')) },
    cache: { get: () => Promise.reject(new Error('not fetched')) },
    slots: semaphore,
    admit: () => Promise.resolve({ accept: true, maxInFlight: 4 }),
    payments: undefined,
    events,
  }
  const agreement: AgreementProposalBody = {
    agreementId: 'a.1', jobId: 'a', chainId: 1, requester: key.address, provider: key.address,
    specHash: `0x${'0'.repeat(64)}`, runtime: 'wasi', limits: LIMITS, maxInFlight: 4, pricePerTaskWei: '0', escrow: null, expiresAt: Date.now() + 60_000,
  }
  const requester = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const session = new AgreedSession({ agreement, requester, window: 4, context, onEnd: () => {} })
  return { session, events: seen, slots: semaphore }
}

const task = (taskId: string): TaskAssignment => ({ taskId, attempt: 1, module: { cid: 'bafkqaaa', size: 0 }, args: [], env: {}, inputs: [], limits: LIMITS })

test('a task waiting for a slot when its session ends is dropped, and does not start when the slot frees', async () => {
  const { session, events, slots } = await sessionWithSlots(0)
  session.assign([task('1')])
  session.end()
  slots.resize(1)
  await new Promise(resolve => setTimeout(resolve, 20))
  assert.deepEqual(events.map(event => event.type), ['task.queued', 'task.dropped'])
  assert.equal(slots.full, false, 'the slot is free again')
})

test('assignments that arrive after the session ended are not taken', async () => {
  const { session, events } = await sessionWithSlots(1)
  session.end()
  session.assign([task('1'), task('2')])
  await new Promise(resolve => setTimeout(resolve, 20))
  assert.deepEqual(events, [])
})
