import { ConunError, prepareStatements, transaction } from '../util/index.ts'
import type { PreparedStatements } from '../util/index.ts'
import { migrateJobStore } from './jobStoreSchema.ts'
import { nextTaskState, TERMINAL_TASK_STATES } from './taskState.ts'
import { taskFromTemplate } from './taskTemplate.ts'
import type { TaskTemplate } from './taskTemplate.ts'
import type { Dispatch, EndedTask, JobRecord, OpenTask, RecordedResult, ResolvedJob, TaskDefinition, TaskOutcome, TaskResultSummary } from './jobRecords.ts'
import type { ReturnedReplica, StoredOutput } from '../validation/index.ts'
import type { AttemptState, JobState, TaskEvent, TaskState } from './taskState.ts'
import type { DatabaseSync } from 'node:sqlite'

export class UnknownJobError extends ConunError {
  override readonly name = 'UnknownJobError'
  readonly code = 'unknown-job'
  readonly kind = 'not-found'
  constructor (id: string) {
    super(`no job with id ${id}`)
  }
}

/** Accepted outcomes read at once for a job's result root. */
const OUTCOMES_PER_PAGE = 10_000

/** Each task with its accepted attempt (if any): what a task's outcome is read from. */
const OUTCOMES = `SELECT t.idx, t.state, t.attempts, t.reason AS task_reason, t.message AS task_message, t.finished_seq, t.definition,
    a.peer_id, a.address, a.status, a.exit_code, a.reason, a.message, a.wall_ms, t.accepted_attempt
  FROM tasks t LEFT JOIN attempts a ON a.job_id = t.job_id AND a.idx = t.idx AND a.attempt = t.accepted_attempt`
/** The outputs of accepted attempts. */
const OUTPUTS = 'SELECT o.idx, o.kind, o.path, o.cid, o.size FROM outputs o JOIN tasks t ON t.job_id = o.job_id AND t.idx = o.idx AND t.accepted_attempt = o.attempt'

const STATEMENTS = {
  insertJob: 'INSERT INTO jobs (id, spec, spec_hash, state, task_count, created_at) VALUES (?, ?, ?, \'running\', ?, ?)',
  insertTask: 'INSERT INTO tasks (job_id, idx, definition, state) VALUES (?, ?, ?, \'queued\')',
  setTemplate: 'UPDATE jobs SET template = ? WHERE id = ?',
  // A range job's tasks in one statement, each with an empty definition: its template gives them (see TaskTemplate).
  insertRange: `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
    INSERT INTO tasks (job_id, idx, definition, state) SELECT ?, i, '', 'queued' FROM seq`,
  // A new job's tasks, counted at once: no trigger counts inserts (see jobStoreSchema.ts).
  countQueued: `INSERT INTO task_counts (job_id, state, n) VALUES (?, 'queued', ?)
    ON CONFLICT (job_id, state) DO UPDATE SET n = n + excluded.n`,
  template: 'SELECT template FROM jobs WHERE id = ?',
  job: 'SELECT * FROM jobs WHERE id = ?',
  jobs: 'SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?',
  jobsInState: 'SELECT id FROM jobs WHERE state = ?',
  finishJob: 'UPDATE jobs SET state = ?, finished_at = ? WHERE id = ? AND state = \'running\'',
  counts: 'SELECT state, n FROM task_counts WHERE job_id = ?',
  doneByProvider: 'SELECT peer_id, done FROM provider_counts WHERE job_id = ? ORDER BY done DESC, peer_id',
  openTasks: 'SELECT idx, state, attempts FROM tasks WHERE job_id = ? AND state IN (\'queued\', \'running\') ORDER BY idx',
  openTriedBy: `SELECT a.idx, a.peer_id FROM attempts a JOIN tasks t ON t.job_id = a.job_id AND t.idx = a.idx
    WHERE a.job_id = ? AND t.state IN ('queued', 'running')`,
  definition: 'SELECT definition FROM tasks WHERE job_id = ? AND idx = ?',
  taskState: 'SELECT state, attempts FROM tasks WHERE job_id = ? AND idx = ?',
  setTask: 'UPDATE tasks SET state = ?, attempts = ?, reason = ?, message = ?, accepted_attempt = ?, finished_seq = ? WHERE job_id = ? AND idx = ? AND state = ?',
  nextFinished: 'UPDATE jobs SET finished_count = finished_count + 1 WHERE id = ? RETURNING finished_count',
  finishedCount: 'SELECT finished_count FROM jobs WHERE id = ?',
  insertAttempt: 'INSERT INTO attempts (job_id, idx, attempt, peer_id, address, state, dispatched_at) VALUES (?, ?, ?, ?, ?, \'in-flight\', ?)',
  endAttempt: 'UPDATE attempts SET state = ?, finished_at = ?, status = ?, exit_code = ?, reason = ?, message = ?, wall_ms = ?, memory_bytes = ?, output_hash = ? WHERE job_id = ? AND idx = ? AND attempt = ? AND state = \'in-flight\'',
  setVerdict: 'UPDATE attempts SET verdict = ? WHERE job_id = ? AND idx = ? AND attempt = ?',
  discardReplicas: 'UPDATE attempts SET verdict = \'discarded\' WHERE job_id = ? AND peer_id = ? AND state = \'returned\' AND verdict IS NULL',
  setAttempts: 'UPDATE tasks SET attempts = ? WHERE job_id = ? AND idx = ?',
  returned: 'SELECT idx, attempt, peer_id, address, output_hash, status, exit_code, reason FROM attempts WHERE job_id = ? AND state = \'returned\' AND verdict IS NULL',
  insertOutput: 'INSERT INTO outputs (job_id, idx, attempt, kind, path, cid, size, inline) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  // Cancelled tasks end together: numbered after every task that ended before, in index order.
  cancelTasks: `UPDATE tasks SET state = 'cancelled', finished_seq = (SELECT finished_count FROM jobs WHERE id = tasks.job_id) + idx + 1
    WHERE job_id = ? AND state IN ('queued', 'running')`,
  skipFinished: 'UPDATE jobs SET finished_count = finished_count + task_count WHERE id = ?',
  cancelAttempts: 'UPDATE attempts SET state = \'cancelled\', finished_at = ? WHERE job_id = ? AND state = \'in-flight\'',
  loseInFlight: 'UPDATE attempts SET state = \'lost\', finished_at = ?, reason = \'requester-restarted\' WHERE job_id = ? AND state = \'in-flight\'',
  requeueRunning: 'UPDATE tasks SET state = \'queued\' WHERE job_id = ? AND state = \'running\'',
  outcomes: `${OUTCOMES} WHERE t.job_id = ? AND t.idx >= ? AND t.idx < ? ORDER BY t.idx`,
  outputs: `${OUTPUTS} WHERE o.job_id = ? AND o.idx >= ? AND o.idx < ? ORDER BY o.idx, o.kind, o.path`,
  replicasReturned: `SELECT idx, count(*) AS n FROM attempts WHERE job_id = ? AND idx >= ? AND idx < ? AND state = 'returned' AND verdict IS NULL
    GROUP BY idx`,
  finishedOutcomes: `${OUTCOMES} WHERE t.job_id = ? AND t.finished_seq > ? ORDER BY t.finished_seq LIMIT ?`,
  finishedOutputs: `${OUTPUTS} WHERE o.job_id = ? AND t.finished_seq > ? AND t.finished_seq <= ? ORDER BY o.idx, o.kind, o.path`,
  acceptedCounts: `SELECT a.address, count(*) AS n FROM attempts a JOIN tasks t ON t.job_id = a.job_id AND t.idx = a.idx
    WHERE a.job_id = ? AND a.verdict = 'valid' AND t.state = 'done' GROUP BY a.address`,
  acceptedOutcomes: `SELECT t.idx, a.output_hash FROM tasks t JOIN attempts a ON a.job_id = t.job_id AND a.idx = t.idx AND a.attempt = t.accepted_attempt
    WHERE t.job_id = ? AND t.idx > ? AND t.state = 'done' ORDER BY t.idx LIMIT ?`,
  attemptOutputs: 'SELECT kind, path, cid, size, inline FROM outputs WHERE job_id = ? AND idx = ? AND attempt = ?',
  inlineByCid: 'SELECT inline FROM outputs WHERE cid = ? AND inline IS NOT NULL LIMIT 1',
}

/**
 * The requester's jobs, tasks, attempts and accepted outputs in SQLite. Every state change is one
 * transaction guarded by the state it expects, so a crash never leaves half a change and a stale
 * result can never overwrite a newer one.
 */
export class JobStore {
  private readonly db: DatabaseSync
  private readonly statements: PreparedStatements<typeof STATEMENTS>
  /** Range jobs' templates, by job, read once. */
  private readonly templates = new Map<string, TaskTemplate>()

  constructor (db: DatabaseSync) {
    this.db = db
    migrateJobStore(db)
    this.statements = prepareStatements(db, STATEMENTS)
  }

  createJob (id: string, spec: ResolvedJob, specHash: string, tasks: readonly TaskDefinition[], now = Date.now()): void {
    transaction(this.db, () => {
      this.statements.insertJob.run(id, JSON.stringify(spec), specHash, tasks.length, now)
      tasks.forEach((task, idx) => this.statements.insertTask.run(id, idx, JSON.stringify(task)))
      this.statements.countQueued.run(id, tasks.length)
    })
  }

  /**
   * A range job: its `count` tasks come from one template stored with the job, and their rows hold
   * no definition (about a third of the bytes per task, and one statement to create them all).
   */
  createRangeJob (id: string, spec: ResolvedJob, specHash: string, template: TaskTemplate, count: number, now = Date.now()): void {
    transaction(this.db, () => {
      this.statements.insertJob.run(id, JSON.stringify(spec), specHash, count, now)
      this.statements.setTemplate.run(JSON.stringify(template), id)
      this.statements.insertRange.run(count, id)
      this.statements.countQueued.run(id, count)
    })
  }

  job (id: string): JobRecord {
    const row = this.statements.job.get(id)
    if (row === undefined) throw new UnknownJobError(id)
    return toJob(row)
  }

  jobs (limit = 100): JobRecord[] {
    return this.statements.jobs.all(limit).map(toJob)
  }

  jobsInState (state: JobState): string[] {
    return this.statements.jobsInState.all(state).map(row => String(row.id))
  }

  taskCounts (jobId: string): Record<TaskState, number> {
    const counts: Record<TaskState, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 }
    for (const row of this.statements.counts.all(jobId)) counts[row.state as TaskState] = Number(row.n)
    return counts
  }

  /** Tasks done per provider whose result was accepted, most first. */
  doneByProvider (jobId: string): Array<{ peerId: string, done: number }> {
    return this.statements.doneByProvider.all(jobId).map(row => ({ peerId: String(row.peer_id), done: Number(row.done) }))
  }

  /**
   * The tasks still queued or running, without their definitions (see definition): what a job
   * resumed after a restart holds in memory. Ended tasks are not read at all.
   */
  * openTasks (jobId: string): Generator<OpenTask> {
    const tried = this.triedBy(this.statements.openTriedBy.iterate(jobId))
    const returned = this.returnedReplicas(jobId)
    // One row at a time: a million open tasks are never all objects at once.
    for (const row of this.statements.openTasks.iterate(jobId)) {
      yield { idx: Number(row.idx), state: row.state as TaskState, attempts: Number(row.attempts), triedBy: tried.get(Number(row.idx)) ?? [], returned: returned.get(Number(row.idx)) ?? [] }
    }
  }

  /** What task `idx` runs: read when it is dispatched, so a job holds no definitions in memory. */
  definition (jobId: string, idx: number): TaskDefinition {
    const row = this.statements.definition.get(jobId, idx)
    if (row === undefined) throw new UnknownJobError(`${jobId} task ${idx}`)
    return this.toDefinition(jobId, idx, String(row.definition))
  }

  /** A task's stored definition, or (empty: a range job's task) the one its job's template gives it. */
  private toDefinition (jobId: string, idx: number, stored: string): TaskDefinition {
    if (stored !== '') return JSON.parse(stored) as TaskDefinition
    let template = this.templates.get(jobId)
    if (template === undefined) {
      const text = this.statements.template.get(jobId)?.template
      if (typeof text !== 'string') throw new UnknownJobError(`${jobId} task ${idx} (no template)`)
      template = JSON.parse(text) as TaskTemplate
      // Templates never change; a handful of running jobs' are kept.
      if (this.templates.size >= 64) this.templates.clear()
      this.templates.set(jobId, template)
    }
    return taskFromTemplate(template, idx)
  }

  private triedBy (rows: Iterable<Record<string, unknown>>): Map<number, string[]> {
    const tried = new Map<number, string[]>()
    for (const row of rows) {
      const list = tried.get(Number(row.idx)) ?? []
      list.push(String(row.peer_id))
      tried.set(Number(row.idx), list)
    }
    return tried
  }

  /** Replicas back but not yet judged, per task (only open tasks have any). */
  private returnedReplicas (jobId: string): Map<number, ReturnedReplica[]> {
    const returned = new Map<number, ReturnedReplica[]>()
    for (const row of this.statements.returned.all(jobId)) {
      const list = returned.get(Number(row.idx)) ?? []
      list.push({ attempt: Number(row.attempt), peerId: String(row.peer_id), address: String(row.address), outcomeHash: String(row.output_hash), status: row.status as 'exit' | 'failed', exitCode: row.exit_code === null ? null : Number(row.exit_code), reason: row.reason === null ? null : String(row.reason) })
      returned.set(Number(row.idx), list)
    }
    return returned
  }

  /** Records that tasks went out to providers. */
  dispatch (jobId: string, dispatches: readonly Dispatch[], now = Date.now()): void {
    transaction(this.db, () => {
      for (const d of dispatches) {
        // A task already running (another replica is out) only counts one more attempt.
        if (this.statements.taskState.get(jobId, d.idx)?.state === 'running') this.statements.setAttempts.run(d.attempt, jobId, d.idx)
        else this.moveTask(jobId, d.idx, 'dispatch', { attempts: d.attempt })
        this.statements.insertAttempt.run(jobId, d.idx, d.attempt, d.peerId, d.address, now)
      }
    })
  }

  /**
   * Ends attempts with the results providers returned. A result is applied only if its attempt is
   * still in flight (a late or duplicate result changes nothing); returns the indices applied.
   * `event` decides what happens to the task (see ResultEvent); outputs of returned replicas are
   * kept, so whichever becomes canonical has its outputs here.
   */
  recordResults (jobId: string, entries: readonly RecordedResult[], now = Date.now()): number[] {
    return transaction(this.db, () => {
      const applied: number[] = []
      for (const { result, idx, event, outputs, outcomeHash, canonical, verdict } of entries) {
        const returned = event === 'accept' || event === 'hold'
        const attemptState: AttemptState = returned ? 'returned' : 'errored'
        const ended = this.statements.endAttempt.run(attemptState, now, result.status, result.exitCode ?? null, result.reason ?? null, result.message ?? null,
          result.usage.wallMs, result.usage.memoryBytes, outcomeHash ?? null, jobId, idx, result.attempt)
        if (ended.changes === 0) continue
        if (returned) {
          for (const output of outputs) {
            this.statements.insertOutput.run(jobId, idx, result.attempt, output.kind, output.path, output.cid, output.size, output.inline ?? null)
          }
        }
        if (event === 'accept') {
          this.moveTask(jobId, idx, 'accept', { acceptedAttempt: canonical?.attempt ?? result.attempt })
          for (const attempt of canonical?.valid ?? [result.attempt]) this.statements.setVerdict.run('valid', jobId, idx, attempt)
          for (const attempt of canonical?.invalid ?? []) this.statements.setVerdict.run('invalid', jobId, idx, attempt)
        } else if (event === 'fail' && canonical !== undefined) {
          // A quorum agreed on a failure: the agreeing replicas were right, the others wrong.
          const reason = verdict?.reason ?? result.reason ?? null
          this.moveTask(jobId, idx, 'fail', { reason, message: reason === result.reason ? result.message ?? null : `replicas agreed on ${reason}` })
          for (const attempt of canonical.valid) this.statements.setVerdict.run('valid', jobId, idx, attempt)
          for (const attempt of canonical.invalid) this.statements.setVerdict.run('invalid', jobId, idx, attempt)
        } else if (event !== 'hold' && event !== 'none') {
          this.moveTask(jobId, idx, event, { reason: result.reason ?? null, message: result.message ?? null })
        }
        applied.push(idx)
      }
      return applied
    })
  }

  /** Ends an attempt that produced no result (provider gone, deadline missed); returns whether it applied. */
  loseAttempt (jobId: string, idx: number, attempt: number, event: 'retry' | 'fail' | 'none', reason: string, message: string, now = Date.now()): boolean {
    return transaction(this.db, () => {
      const ended = this.statements.endAttempt.run('lost', now, null, null, reason, message, null, null, null, jobId, idx, attempt)
      if (ended.changes === 0) return false
      if (event !== 'none') this.moveTask(jobId, idx, event, { reason, message })
      return true
    })
  }

  finishJob (jobId: string, state: Exclude<JobState, 'running'>, now = Date.now()): void {
    this.statements.finishJob.run(state, now, jobId)
  }

  /** Fails tasks that never got to run (e.g. no provider came), with the reason. */
  failTasks (jobId: string, indices: readonly number[], reason: string, message: string): void {
    transaction(this.db, () => {
      for (const idx of indices) this.moveTask(jobId, idx, 'fail', { reason, message })
    })
  }

  /** A blacklisted provider's replicas not yet judged stop counting towards any quorum of the job. */
  discardReplicas (jobId: string, peerId: string): void {
    this.statements.discardReplicas.run(jobId, peerId)
  }

  /** Ends a running job as cancelled, with every task not yet ended. */
  cancelJob (jobId: string, now = Date.now()): void {
    transaction(this.db, () => {
      this.statements.cancelAttempts.run(now, jobId)
      this.statements.cancelTasks.run(jobId)
      this.statements.skipFinished.run(jobId)
      this.statements.finishJob.run('cancelled', now, jobId)
    })
  }

  /** After a restart: attempts that were in flight are lost, their tasks go back to the queue. */
  recoverJob (jobId: string, now = Date.now()): void {
    transaction(this.db, () => {
      this.statements.loseInFlight.run(now, jobId)
      this.statements.requeueRunning.run(jobId)
    })
  }

  /**
   * Tasks `from` to `from + count - 1` in index order, each with its outcome, its arguments and the
   * replicas back awaiting a quorum: a reader pages through a job of any size with it.
   */
  outcomes (jobId: string, from = 0, count = Number.MAX_SAFE_INTEGER): TaskResultSummary[] {
    const to = Math.min(from + count, Number.MAX_SAFE_INTEGER)
    const outputs = groupOutputs(this.statements.outputs.all(jobId, from, to))
    const returned = new Map(this.statements.replicasReturned.all(jobId, from, to).map(row => [Number(row.idx), Number(row.n)]))
    return this.statements.outcomes.all(jobId, from, to).map(row => ({
      ...toOutcome(row, outputs),
      args: this.toDefinition(jobId, Number(row.idx), String(row.definition)).args,
      replicasReturned: returned.get(Number(row.idx)) ?? 0,
    }))
  }

  /**
   * Up to `limit` tasks that ended after the one numbered `after`, in the order they ended, with
   * their arguments and their number (`seq`): a reader pages through a job of any size with it,
   * and sees each ended task once.
   */
  endedTasks (jobId: string, after: number, limit: number): EndedTask[] {
    const rows = this.statements.finishedOutcomes.all(jobId, after, limit)
    if (rows.length === 0) return []
    const outputs = groupOutputs(this.statements.finishedOutputs.all(jobId, after, Number(rows.at(-1)!.finished_seq)))
    return rows.map(row => ({ ...toOutcome(row, outputs), seq: Number(row.finished_seq), args: this.toDefinition(jobId, Number(row.idx), String(row.definition)).args }))
  }

  /** The number of the task that ended last (0 when none has): `endedTasks` after it lists only tasks that end later. */
  lastEndedSeq (jobId: string): number {
    return Number(this.statements.finishedCount.get(jobId)?.finished_count ?? 0)
  }

  /**
   * Accepted results per provider address: replicas that agreed with the canonical outcome of a
   * task that is done (or ran alone, unchecked). What a paid job owes each provider follows from it.
   */
  acceptedCounts (jobId: string): Map<string, number> {
    return new Map(this.statements.acceptedCounts.all(jobId).map(row => [String(row.address), Number(row.n)]))
  }

  /**
   * Each done task's accepted outcome hash (0x hex), for the job's result root, read a page at a
   * time: a million-task job's are never all in memory at once.
   */
  * acceptedOutcomes (jobId: string): Generator<{ idx: number, outcomeHash: `0x${string}` }> {
    for (let after = -1; ;) {
      const rows = this.statements.acceptedOutcomes.all(jobId, after, OUTCOMES_PER_PAGE)
      for (const row of rows) yield { idx: Number(row.idx), outcomeHash: `0x${String(row.output_hash)}` }
      if (rows.length < OUTCOMES_PER_PAGE) return
      after = Number(rows.at(-1)!.idx)
    }
  }

  /** The outputs a returned replica came back with (small ones with their bytes). */
  attemptOutputs (jobId: string, idx: number, attempt: number): Array<StoredOutput & { inline?: Uint8Array }> {
    return this.statements.attemptOutputs.all(jobId, idx, attempt).map(row => ({
      kind: row.kind as StoredOutput['kind'],
      path: String(row.path),
      cid: String(row.cid),
      size: Number(row.size),
      ...(row.inline === null ? {} : { inline: row.inline as Uint8Array }),
    }))
  }

  /** Bytes of a small output kept in the database, if that CID is one. */
  inlineOutput (cid: string): Uint8Array | undefined {
    const row = this.statements.inlineByCid.get(cid)
    return row === undefined ? undefined : row.inline as Uint8Array
  }

  private moveTask (jobId: string, idx: number, event: TaskEvent, changes: { attempts?: number, acceptedAttempt?: number, reason?: string | null, message?: string | null }): void {
    const row = this.statements.taskState.get(jobId, idx)
    if (row === undefined) throw new UnknownJobError(`${jobId} task ${idx}`)
    const from = row.state as TaskState
    const to = nextTaskState(from, event)
    const finishedSeq = TERMINAL_TASK_STATES.has(to) ? Number(this.statements.nextFinished.get(jobId)!.finished_count) : null
    this.statements.setTask.run(to, changes.attempts ?? Number(row.attempts), changes.reason ?? null, changes.message ?? null, changes.acceptedAttempt ?? null, finishedSeq, jobId, idx, from)
  }
}

function toJob (row: Record<string, unknown>): JobRecord {
  return {
    id: String(row.id),
    spec: JSON.parse(String(row.spec)) as ResolvedJob,
    specHash: String(row.spec_hash),
    state: row.state as JobState,
    taskCount: Number(row.task_count),
    createdAt: Number(row.created_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  }
}

function groupOutputs (rows: ReadonlyArray<Record<string, unknown>>): Map<number, StoredOutput[]> {
  const outputs = new Map<number, StoredOutput[]>()
  for (const row of rows) {
    const list = outputs.get(Number(row.idx)) ?? []
    list.push({ kind: row.kind as StoredOutput['kind'], path: String(row.path), cid: String(row.cid), size: Number(row.size) })
    outputs.set(Number(row.idx), list)
  }
  return outputs
}

function toOutcome (row: Record<string, unknown>, outputs: ReadonlyMap<number, StoredOutput[]>): TaskOutcome {
  return {
    idx: Number(row.idx),
    state: row.state as TaskState,
    attempts: Number(row.attempts),
    provider: row.peer_id === null ? null : String(row.peer_id),
    providerAddress: row.address === null ? null : String(row.address),
    status: row.status === null ? null : row.status as 'exit' | 'failed',
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    reason: (row.reason ?? row.task_reason ?? null) as string | null,
    message: (row.message ?? row.task_message ?? null) as string | null,
    wallMs: row.wall_ms === null ? null : Number(row.wall_ms),
    outputs: outputs.get(Number(row.idx)) ?? [],
  }
}
