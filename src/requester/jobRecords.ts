/** The requester's records of jobs, tasks, attempts and outputs, as the job store reads and writes them. */
import type { OutputComparison, ReturnedOutput, ReturnedReplica, StoredOutput } from '../validation/index.ts'
import type { JobState, TaskEvent, TaskState } from './taskState.ts'
import type { ContentRef, TaskAssignment, TaskResult } from '../net/index.ts'
import type { RuntimeName } from '../runtime/index.ts'

/** A job as the node runs it: sources resolved to CIDs, limits in bytes. */
export interface ResolvedJob {
  readonly name: string
  readonly runtime: RuntimeName
  /** The code tasks run: the WASI module, or the Docker image tarball. */
  readonly module: ContentRef
  readonly limits: TaskAssignment['limits']
  readonly constraints: {
    readonly minCores?: number
    readonly minMemoryBytes?: number
    readonly minSpeed?: number
    readonly minGpuGflops?: number
    readonly providers?: readonly string[]
  }
  readonly maxAttempts: number
  /** Replicas per task, each on a different provider, and how many identical outcomes make one canonical. */
  readonly replication: number
  readonly quorum: number
  readonly adaptive: boolean
  /** How replicas' outputs are compared (absent: exactly). */
  readonly compare?: OutputComparison
  /** Replicas of one task on providers at different IP addresses only (absent in older jobs). */
  readonly distinctHosts?: boolean
  readonly waitForProvidersMs: number
  /** What each accepted result pays, and the most the job may cost ("0": a free job). */
  readonly priceWei: string
  readonly budgetWei: string
}

/** What one task runs: everything of an assignment but the job-wide parts. */
export type TaskDefinition = Pick<TaskAssignment, 'args' | 'env' | 'stdin' | 'inputs'>

export interface JobRecord {
  readonly id: string
  readonly spec: ResolvedJob
  readonly specHash: string
  readonly state: JobState
  readonly taskCount: number
  readonly createdAt: number
  readonly finishedAt: number | null
}

/** A task still queued or running, as a resumed job holds it: without its definition. */
export interface OpenTask {
  readonly idx: number
  readonly state: TaskState
  readonly attempts: number
  /** Providers (PeerIds) that already had an attempt at it. */
  readonly triedBy: string[]
  /** Replicas that returned an outcome not yet judged (waiting for a quorum). */
  readonly returned: ReturnedReplica[]
}

/**
 * What a result does to its task: one of the task transitions, or `hold` (a replica returned an
 * outcome, the task waits for a quorum) or `none` (the attempt ends, other replicas carry on).
 */
export type ResultEvent = TaskEvent | 'hold' | 'none'

export interface RecordedResult {
  readonly result: TaskResult
  readonly idx: number
  readonly event: ResultEvent
  readonly outputs: readonly ReturnedOutput[]
  readonly outcomeHash?: string
  /** With `accept`: the canonical attempt and the judged replicas. */
  readonly canonical?: { readonly attempt: number, readonly valid: readonly number[], readonly invalid: readonly number[] }
  /** The canonical outcome, when it is not the result recorded here (it came from another replica). */
  readonly verdict?: { readonly status: 'exit' | 'failed', readonly exitCode: number | null, readonly reason: string | null }
}

export interface TaskOutcome {
  readonly idx: number
  readonly state: TaskState
  readonly attempts: number
  readonly provider: string | null
  readonly providerAddress: string | null
  readonly status: 'exit' | 'failed' | null
  readonly exitCode: number | null
  readonly reason: string | null
  readonly message: string | null
  readonly wallMs: number | null
  readonly outputs: StoredOutput[]
}

/** A task as the results route gives it: its outcome, its arguments and the replicas back awaiting a quorum. */
export type TaskResultSummary = TaskOutcome & { readonly args: string[], readonly replicasReturned: number }

/** An ended task as the results pages give it: its outcome, its arguments, and its number in the order tasks ended. */
export type EndedTask = TaskOutcome & { readonly seq: number, readonly args: string[] }

export interface Dispatch {
  readonly idx: number
  readonly attempt: number
  readonly peerId: string
  readonly address: string
}
