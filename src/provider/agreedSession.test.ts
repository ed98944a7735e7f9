import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { generateNodeKey } from '../identity/index.ts'
import { EventHub, Semaphore } from '../util/index.ts'
import { AgreedSession } from './agreedSession.ts'
import { createWasiRuntime } from '../runtime/index.ts'
import { buildWasiFixture } from '../runtime/wasi/fixtures/buildFixtures.ts'
import type { ProviderContext } from './providerContext.ts'
import type { ProviderEvent } from './providerEvents.ts'
import type { AgreementProposalBody, OutputRef, TaskAssignment } from '../net/index.ts'

// When a session ends (its escrow gone, the requester said so), no task of it starts afterwards:
// not one waiting for a slot, nor one whose assignment is read from the stream after the end.

const LIMITS = { memoryBytes: 1 << 20, timeoutMs: 1000, outputBytes: 1 << 20 }
const WRITING_LIMITS = { memoryBytes: 64 << 20, timeoutMs: 30_000, outputBytes: 16 << 20 }

async function sessionWithSlots (slots: number, parts: Partial<Pick<ProviderContext, 'runtimes' | 'storage' | 'cache'>> = {}): Promise<{ session: AgreedSession, events: ProviderEvent[], slots: Semaphore }> {
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
    ...parts,
  }
  const agreement: AgreementProposalBody = {
    agreementId: 'a.1', jobId: 'a', chainId: 1, requester: key.address, provider: key.address,
    specHash: `0x${'0'.repeat(64)}`, runtime: 'wasi', limits: WRITING_LIMITS, maxInFlight: 4, pricePerTaskWei: '0', escrow: null, expiresAt: Date.now() + 60_000,
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

test('a task hands its slot to the next while its outputs are stored, and fails when they cannot be', async () => {
  const workDir = await mkdtemp(join(tmpdir(), 'conun-session-'))
  const runtime = createWasiRuntime({ slots: 1, workDir })
  try {
    // bigout writes a 10 MB file to /out: too large to ride inside the result, so it is stored.
    const bigout = await buildWasiFixture('bigout')
    const stores: Array<PromiseWithResolvers<OutputRef>> = []
    const { session, events } = await sessionWithSlots(1, {
      runtimes: new Map([['wasi', runtime]]),
      cache: { get: () => Promise.resolve(bigout) },
      storage: {
        readBytes: () => Promise.reject(new Error('not read')),
        putBytes: () => { stores.push(Promise.withResolvers<OutputRef>()); return stores.at(-1)!.promise },
      },
    })
    const writing = (taskId: string): TaskAssignment => ({ ...task(taskId), limits: WRITING_LIMITS })
    session.assign([writing('1'), writing('2')])
    const until = async (done: () => boolean) => {
      for (const deadline = Date.now() + 20_000; !done();) {
        assert.ok(Date.now() < deadline, `timed out; events so far: ${JSON.stringify(events)}`)
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    }
    await until(() => stores.length === 1)
    await until(() => events.some(event => event.type === 'task.started' && event.taskId === '2'))
    assert.equal(events.some(event => event.type === 'task.finished'), false, 'task 2 started while task 1\'s output was still being stored')
    stores[0]!.reject(new Error('disk full'))
    await until(() => stores.length === 2)
    stores[1]!.resolve({ cid: 'bafkqaaa', size: 10_000_000 })
    await until(() => events.filter(event => event.type === 'task.finished').length === 2)
    const finished = events.flatMap(event => event.type === 'task.finished' ? [event] : [])
    assert.deepEqual(finished.map(event => [event.taskId, event.status, event.reason]), [['1', 'failed', 'internal'], ['2', 'exit', undefined]])
    session.end()
  } finally {
    await runtime.close()
    await rm(workDir, { recursive: true, force: true })
  }
})
