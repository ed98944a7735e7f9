import { randomBytes } from 'node:crypto'
import { bytesToHex } from 'viem'
import { signingDigest } from '../identity/index.ts'
import { matchOffers } from '../market/index.ts'
import { EventHub } from '../util/index.ts'
import { JobRun } from './jobRun.ts'
import { codeOf, expandTasks, JobSpecError, quorumOf, rangeTemplate } from './jobSpec.ts'
import type { TaskTemplate } from './taskTemplate.ts'
import { formatCon, parseCon } from '../ledger/index.ts'
import { unpaid } from './settlement.ts'
import { HEADROOM_PERCENT } from './reservationsDue.ts'
import type { JobStore } from './jobStore.ts'
import type { Evidence, EvidenceStore } from './evidenceStore.ts'
import type { EndedTask, JobRecord, ResolvedJob, TaskDefinition, TaskResultSummary } from './jobRecords.ts'
import type { ProviderReputation, ReputationStore } from './reputationStore.ts'
import type { JobSpec } from './jobSpec.ts'
import type { OpenLink } from './providerLink.ts'
import type { RequesterEvent } from './requesterEvents.ts'
import type { SchedulerConfig } from './jobRun.ts'
import type { LineRelease, PaymentStatus, Settlement } from './settlement.ts'
import type { TaskState } from './taskState.ts'
import type { NodeKey } from '../identity/index.ts'
import type { OfferBook } from '../market/index.ts'
import { remoteIpOf } from '../net/index.ts'
import type { ConnectionPath, ContentRef } from '../net/index.ts'
import type { Libp2p } from '@libp2p/interface'
import { ContentNotFoundError } from '../storage/index.ts'
import type { Storage } from '../storage/index.ts'

export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  maxInFlightPerProvider: 64,
  maxProviders: 64,
  deadlineGraceMs: 30_000,
  reconnectBackoffMs: 5_000,
  spotCheckSeed: null,
}

/**
 * Where a provider's packets come from, for `distinctHosts`: its IP on a direct or hole-punched
 * connection; unknown when it is reached only through a relay.
 */
function hostOfPeer (host: Libp2p, peerId: string): string | undefined {
  for (const connection of host.getConnections()) {
    if (connection.remotePeer.toString() !== peerId) continue
    const ip = remoteIpOf(connection)
    if (ip !== undefined) return ip
  }
  return undefined
}

function taskCount (spec: JobSpec): number {
  return spec.tasks?.length ?? spec.range?.count ?? 0
}

/**
 * The job's price and budget in wei; the budget must cover every replica of every task. Unless the
 * spec sets it, it is that much and HEADROOM_PERCENT more, which the requester reserves providers'
 * pay ahead in (see reservationsDue) and gives back at the settlement.
 */
function jobPrice (spec: JobSpec, tasks: number): { priceWei: string, budgetWei: string } {
  const price = parseCon(spec.price)
  const most = price * BigInt(tasks) * BigInt(spec.replication)
  const budget = spec.budget === undefined ? most + most * HEADROOM_PERCENT / 100n : parseCon(spec.budget)
  if (budget < most) throw new JobSpecError([`budget: ${formatCon(budget)} cannot pay ${tasks} tasks × ${spec.replication} replicas at ${formatCon(price)}; it needs ${formatCon(most)}`])
  return { priceWei: String(price), budgetWei: String(budget) }
}

/** stdin up to this size travels inside the assignment; larger stdin is stored and sent by CID. */
const INLINE_STDIN_MAX_BYTES = 64 * 1024

export interface RequesterInit {
  readonly key: NodeKey
  readonly chainId: number
  readonly store: JobStore
  /** Results judged wrong, with the signed batches that prove them. */
  readonly evidence: EvidenceStore
  readonly reputation: ReputationStore
  readonly storage: Storage
  readonly offers: OfferBook
  readonly openLink: OpenLink
  /** How jobs are paid for, given the requester's event hub (default: unpaid). */
  readonly settlement?: (events: EventHub<RequesterEvent>) => Settlement
  readonly config?: Partial<SchedulerConfig>
}

export interface JobStatus {
  readonly job: JobRecord
  readonly counts: Record<TaskState, number>
  /** Providers working on the job now, and how each is reached. */
  readonly providers: Array<{ peerId: string, address: string, inFlight: number, maxInFlight: number, path: ConnectionPath }>
  /** Tasks done per provider (whose result was accepted), most first: every provider the job had. */
  readonly doneByProvider: Array<{ peerId: string, done: number }>
}

export interface Requester {
  readonly events: EventHub<RequesterEvent>
  /** Accepts a job whose module and inputs are CIDs held by this node, stores it and starts it. */
  submitJob(spec: JobSpec): Promise<JobRecord>
  status(jobId: string): JobStatus
  /** What a paid job may spend, owes and paid; null for a free job. */
  payment(jobId: string): Promise<PaymentStatus | null>
  /** Takes back what payment lines to providers no running job pays hold (see Settlement.releaseLines). */
  releaseLines(): Promise<LineRelease[]>
  jobs(limit?: number): JobStatus[]
  /** Tasks `from` to `from + count - 1` (default: all) in index order, with their arguments and replicas awaiting a quorum. */
  outcomes(jobId: string, from?: number, count?: number): TaskResultSummary[]
  /** Tasks that ended after number `after`, in the order they ended (see JobStore.endedTasks). */
  endedTasks(jobId: string, after: number, limit: number): EndedTask[]
  /** The number of the task that ended last: where a reader of `outcomes` follows with `endedTasks`. */
  lastEndedSeq(jobId: string): number
  cancel(jobId: string): Promise<void>
  /** Every provider's track record with this node. */
  reputation(): ProviderReputation[]
  /** A provider's results judged wrong, each with the signed batch that proves what it sent. */
  evidence(peerId: string, limit?: number): Evidence[]
  /** Bytes of a small task output kept in the job database, if `cid` is one. */
  inlineOutput(cid: string): Uint8Array | undefined
  /** Settles when the job has ended. */
  waitForJob(jobId: string): Promise<JobRecord>
  /** Picks up the jobs that were running when the node last stopped. */
  resume(): void
  stop(): Promise<void>
}

/** The requester side of a node: turns job specs into tasks and runs each job with a JobRun. */
export function createRequester (init: RequesterInit): Requester {
  const events = new EventHub<RequesterEvent>()
  const config = { ...DEFAULT_SCHEDULER_CONFIG, ...init.config }
  const settlement = init.settlement?.(events) ?? unpaid
  const runs = new Map<string, JobRun>()
  events.on(event => init.reputation.observe(event))

  const candidates = (job: JobRecord) => matchOffers(init.offers.list(), {
    runtime: job.spec.runtime,
    minCores: job.spec.constraints.minCores,
    minMemoryBytes: job.spec.constraints.minMemoryBytes,
    minSpeed: job.spec.constraints.minSpeed,
    minGpuGflops: job.spec.constraints.minGpuGflops,
    // A provider takes a job that pays at least its price; older jobs have no price: free.
    maxPricePerTaskWei: BigInt(job.spec.priceWei ?? '0'),
    allowPeers: job.spec.constraints.providers,
    excludePeers: init.reputation.blacklisted(),
  })

  /** Runs a stored job: `fresh` when it was just submitted (see JobRun.start). */
  function run (job: JobRecord, fresh = false): JobRun {
    const jobRun = new JobRun(job, {
      store: init.store,
      evidence: init.evidence,
      events,
      settlement,
      openLink: init.openLink,
      candidates,
      excluded: () => init.reputation.blacklisted(),
      streakOf: peerId => init.reputation.get(peerId)?.streak ?? 0,
      onOffer: listener => init.offers.onOffer(listener),
      hostOf: peerId => hostOfPeer(init.storage.libp2p, peerId),
      fetchOutput: async (cid, fromPeer, maxBytes, signal) => {
        const from = init.storage.libp2p.getPeers().filter(peer => peer.toString() === fromPeer)
        return init.storage.fetch(cid, { from, maxBytes, signal })
      },
      readOutput: async (cid, maxBytes, signal) => init.storage.readBytes(cid, maxBytes, { offline: true, signal }),
      requester: init.key.address,
      chainId: init.chainId,
      config,
    })
    runs.set(job.id, jobRun)
    void jobRun.done.then(() => runs.delete(job.id))
    jobRun.start(fresh)
    return jobRun
  }

  /**
   * Content held here. A small task output came back inside its result and sits in the job
   * database only: it becomes a block when a job names it, so tasks can take any output by CID.
   */
  async function resolve (cid: string): Promise<ContentRef> {
    try {
      return await init.storage.stat(cid)
    } catch (error) {
      const inline = error instanceof ContentNotFoundError ? init.store.inlineOutput(cid) : undefined
      if (inline === undefined) throw error
      return init.storage.putInline(inline)
    }
  }

  /** The inputs every task of the job sees. */
  async function sharedInputs (spec: JobSpec): Promise<TaskDefinition['inputs']> {
    return Promise.all(Object.entries(spec.inputs ?? {}).map(async ([name, cid]) => ({ name, ...(await resolve(cid)) })))
  }

  async function resolveTasks (spec: JobSpec): Promise<TaskDefinition[]> {
    const shared = await sharedInputs(spec)
    return Promise.all(expandTasks(spec).map(async task => {
      const own = await Promise.all(Object.entries(task.inputs ?? {}).map(async ([name, cid]) => ({ name, ...(await resolve(cid)) })))
      const inputs = [...shared.filter(input => !own.some(o => o.name === input.name)), ...own]
      let stdin: TaskDefinition['stdin']
      if (task.stdin !== undefined) {
        const bytes = Buffer.from(task.stdin, 'utf8')
        stdin = bytes.byteLength <= INLINE_STDIN_MAX_BYTES ? { inline: bytes.toString('base64') } : await init.storage.putBytes(bytes)
      }
      return { args: task.args, env: { ...spec.env, ...task.env }, inputs, ...(stdin === undefined ? {} : { stdin }) }
    }))
  }

  const status = (jobId: string): JobStatus => ({
    job: init.store.job(jobId),
    counts: init.store.taskCounts(jobId),
    providers: runs.get(jobId)?.providers() ?? [],
    doneByProvider: init.store.doneByProvider(jobId),
  })

  return {
    events,
    async submitJob (spec) {
      const resolved: ResolvedJob = {
        name: spec.name ?? 'job',
        runtime: spec.runtime,
        module: await resolve(codeOf(spec)),
        limits: { memoryBytes: spec.limits.memoryMb * 1024 * 1024, timeoutMs: spec.limits.timeoutMs, outputBytes: spec.limits.outputMb * 1024 * 1024 },
        constraints: {
          ...(spec.constraints.minCores === undefined ? {} : { minCores: spec.constraints.minCores }),
          ...(spec.constraints.minMemoryMb === undefined ? {} : { minMemoryBytes: spec.constraints.minMemoryMb * 1024 * 1024 }),
          ...(spec.constraints.minSpeed === undefined ? {} : { minSpeed: spec.constraints.minSpeed }),
          ...(spec.constraints.minGpuGflops === undefined ? {} : { minGpuGflops: spec.constraints.minGpuGflops }),
          ...(spec.constraints.providers === undefined ? {} : { providers: spec.constraints.providers }),
        },
        maxAttempts: spec.maxAttempts,
        replication: spec.replication,
        quorum: quorumOf(spec),
        adaptive: spec.adaptive,
        distinctHosts: spec.distinctHosts,
        ...(spec.compare === undefined ? {} : { compare: spec.compare }),
        waitForProvidersMs: spec.waitForProvidersMs,
        ...jobPrice(spec, taskCount(spec)),
      }
      // A range without stdin is stored as one template (its hash covers the template and count), other jobs task by task.
      const range = rangeTemplate(spec)
      const template: TaskTemplate | undefined = range === undefined ? undefined : { args: range.args, literal: range.literal, env: { ...spec.env }, inputs: await sharedInputs(spec) }
      const tasks = template === undefined ? await resolveTasks(spec) : []
      const count = range?.count ?? tasks.length
      const specHash = bytesToHex(signingDigest('conun/job-spec/1', template === undefined ? { job: resolved, tasks } : { job: resolved, template, count }))
      const id = randomBytes(8).toString('hex')
      // The budget is in the escrow before the job exists: a job that cannot pay never runs.
      await settlement.openJob({ id, specHash, priceWei: resolved.priceWei, budgetWei: resolved.budgetWei })
      if (template === undefined) init.store.createJob(id, resolved, specHash, tasks)
      else init.store.createRangeJob(id, resolved, specHash, template, count)
      const job = init.store.job(id)
      events.emit({ type: 'job.submitted', jobId: id, taskCount: count })
      run(job, true)
      return job
    },
    status,
    payment: async jobId => {
      init.store.job(jobId)
      return settlement.status(jobId)
    },
    releaseLines: () => settlement.releaseLines(),
    jobs: limit => init.store.jobs(limit).map(job => status(job.id)),
    outcomes: (jobId, from, count) => {
      init.store.job(jobId)
      return init.store.outcomes(jobId, from, count)
    },
    endedTasks: (jobId, after, limit) => {
      init.store.job(jobId)
      return init.store.endedTasks(jobId, after, limit)
    },
    lastEndedSeq: jobId => init.store.lastEndedSeq(jobId),
    async cancel (jobId) {
      const job = init.store.job(jobId)
      const jobRun = runs.get(jobId)
      if (jobRun !== undefined) await jobRun.cancel()
      else if (job.state === 'running') init.store.cancelJob(jobId)
    },
    inlineOutput: cid => init.store.inlineOutput(cid),
    reputation: () => init.reputation.all(),
    evidence: (peerId, limit) => init.evidence.of(peerId, limit),
    async waitForJob (jobId) {
      await runs.get(jobId)?.done
      return init.store.job(jobId)
    },
    resume () {
      settlement.resume(jobId => init.store.job(jobId))
      for (const jobId of init.store.jobsInState('running')) {
        if (runs.has(jobId)) continue
        init.store.recoverJob(jobId)
        run(init.store.job(jobId))
      }
    },
    async stop () {
      await Promise.all([...runs.values()].map(async jobRun => jobRun.stop()))
    },
  }
}
