import { join } from 'node:path'
import { PROTOCOL_TASK } from '../net/index.ts'
import { EventHub, Semaphore } from '../util/index.ts'
import { BlobCache } from './blobCache.ts'
import { serveTaskSession } from './taskSession.ts'
import type { SessionRegistry } from './taskSession.ts'
import type { ContentCache, ProviderContext, TaskStorage } from './providerContext.ts'
import type { AdmissionDecision, ProviderEvent } from './providerEvents.ts'
import type { ProviderPayments } from './providerPayments.ts'
import type { NodeKey } from '../identity/index.ts'
import type { AgreementProposalBody } from '../net/index.ts'
import type { PolicyStateName } from '../resources/index.ts'
import type { Runtime } from '../runtime/index.ts'
import type { Storage } from '../storage/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** Limits a provider puts on the work it accepts. */
export interface ProviderPolicy {
  /** Tasks run at once (defaults to every core). */
  readonly maxConcurrent: number
  readonly maxTaskMemoryBytes: number
  readonly maxTaskTimeoutMs: number
  readonly maxTaskOutputBytes: number
  /** Tasks a requester may queue here beyond those running, per session. */
  readonly maxQueuedPerSession: number
  /** Disk the cache of fetched code and inputs may use (default: no limit). */
  readonly maxCacheBytes?: number
}

/**
 * A node's agent keeps fetched code and inputs in <dataDir>/cache, through its storage; a browser
 * brings its own cache (in memory) and only the storage a task needs.
 */
export type ProviderAgentInit = ProviderAgentBase & (
  | { readonly storage: Storage, readonly dataDir: string }
  | { readonly storage: TaskStorage, readonly cache: ContentCache }
)

interface ProviderAgentBase {
  readonly key: NodeKey
  readonly host: Libp2p
  /** The sandboxes tasks may run in; a job's agreement names one of them. */
  readonly runtimes: readonly Runtime[]
  readonly chainId: number
  readonly policy: ProviderPolicy
  /** Where the agent reports what it does (created by the caller, shared with its payments). */
  readonly events?: EventHub<ProviderEvent>
  /** Escrow checks, receipts and claims for paid jobs (absent on a node without a chain). */
  readonly payments?: ProviderPayments
}

/** Whether the machine is lent right now, as the idle policy decided (see resources/idlePolicy.ts). */
export interface LendingState {
  readonly state: PolicyStateName
  readonly reason: string
  readonly since: number
  /** Share of the CPU (0–1) other programs used at the last reading, and conun with its tasks. */
  readonly foreignLoad: number
  readonly ownLoad: number
}

export interface ProviderStatus {
  readonly runtimes: readonly string[]
  readonly lending: LendingState
  readonly maxConcurrent: number
  readonly running: number
  readonly queued: number
  readonly completed: number
  readonly failed: number
  readonly sessions: number
  /** Sandbox wall time of finished tasks, in ms. */
  readonly busyMs: number
}

export interface ProviderAgent {
  readonly policy: ProviderPolicy
  readonly events: EventHub<ProviderEvent>
  status(): ProviderStatus
  /** Starts or stops taking tasks: outside `running`, new agreements are declined and queued tasks wait. */
  setLending(lending: LendingState): void
  stop(): Promise<void>
}

/** The provider side of a node: takes agreements and tasks over /conun/task/1.0.0 and runs them. */
export async function createProviderAgent (init: ProviderAgentInit): Promise<ProviderAgent> {
  const { policy } = init
  const runtimes = new Map(init.runtimes.map(runtime => [runtime.name, runtime]))
  const events = init.events ?? new EventHub<ProviderEvent>()
  const counters = { running: 0, queued: 0, completed: 0, failed: 0, busyMs: 0 }
  events.on(event => {
    if (event.type === 'task.queued') counters.queued++
    else if (event.type === 'task.dropped') counters.queued--
    else if (event.type === 'task.started') {
      counters.queued--
      counters.running++
    } else if (event.type === 'task.finished') {
      counters.running--
      counters.busyMs += event.wallMs
      if (event.status === 'exit') counters.completed++
      else counters.failed++
    }
  })

  let lending: LendingState = { state: 'running', reason: 'lending the machine', since: Date.now(), foreignLoad: 0, ownLoad: 0 }
  const slots = new Semaphore(policy.maxConcurrent)

  async function admit (proposal: AgreementProposalBody, requester: PeerId): Promise<AdmissionDecision> {
    if (lending.state !== 'running') return { accept: false as const, reason: `not taking work now: ${lending.reason}` }
    if (!runtimes.has(proposal.runtime)) return { accept: false as const, reason: `runtime ${proposal.runtime} is not offered here` }
    if (proposal.limits.memoryBytes > policy.maxTaskMemoryBytes) return { accept: false as const, reason: `tasks may use at most ${policy.maxTaskMemoryBytes} bytes of memory here` }
    if (proposal.limits.timeoutMs > policy.maxTaskTimeoutMs) return { accept: false as const, reason: `tasks may run at most ${policy.maxTaskTimeoutMs} ms here` }
    if (proposal.limits.outputBytes > policy.maxTaskOutputBytes) return { accept: false as const, reason: `tasks may output at most ${policy.maxTaskOutputBytes} bytes here` }
    if (init.payments === undefined && BigInt(proposal.pricePerTaskWei) > 0n) return { accept: false as const, reason: 'this provider has no chain to be paid on' }
    const paid = await init.payments?.admit(proposal, requester) ?? { accept: true as const, maxInFlight: proposal.maxInFlight }
    if (!paid.accept) return paid
    return { accept: true as const, maxInFlight: Math.min(paid.maxInFlight, policy.maxConcurrent + policy.maxQueuedPerSession) }
  }

  const context: ProviderContext = {
    key: init.key,
    chainId: init.chainId,
    runtimes,
    storage: init.storage,
    cache: 'cache' in init ? init.cache : new BlobCache(join(init.dataDir, 'cache'), init.storage, { maxBytes: policy.maxCacheBytes }),
    slots,
    admit,
    payments: init.payments,
    events,
  }
  /** Agreed sessions, kept across their streams (see taskSession.ts). */
  const sessions: SessionRegistry = new Map()
  // A requester taking its payment line back is worked for no longer (in paid jobs); it may agree again once it reserves.
  events.on(event => {
    if (event.type !== 'payment.line-released') return
    for (const session of [...sessions.values()]) {
      if (session.agreement.escrow !== null && session.agreement.requester.toLowerCase() === event.requester.toLowerCase()) session.end()
    }
  })
  init.payments?.start()

  await init.host.handle(PROTOCOL_TASK, (stream, connection) => {
    serveTaskSession(stream, connection, context, sessions)
      .catch(error => events.emit({ type: 'protocol.rejected', peer: connection.remotePeer.toString(), code: 'internal', message: (error as Error).message }))
  }, { maxInboundStreams: 256, runOnLimitedConnection: true })

  return {
    policy,
    events,
    status: () => ({ runtimes: [...runtimes.keys()], lending, maxConcurrent: policy.maxConcurrent, ...counters, sessions: sessions.size }),
    setLending (next) {
      if ((next.state === 'running') !== (lending.state === 'running')) slots.resize(next.state === 'running' ? policy.maxConcurrent : 0)
      lending = next
    },
    async stop () {
      for (const session of [...sessions.values()]) session.end()
      init.payments?.stop()
      await init.host.unhandle(PROTOCOL_TASK)
    },
  }
}
