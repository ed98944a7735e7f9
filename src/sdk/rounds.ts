import { map } from './map.ts'
import { TaskFailedError } from './taskErrors.ts'
import type { ConunClient } from './client.ts'
import type { TaskProgress } from './completedTasks.ts'
import type { JobOptions, TaskInput } from './jobOptions.ts'
import type { MapResult } from './map.ts'

/** One round's job: its spec (without tasks) and its tasks, built from the state so far. */
export interface RoundJob {
  readonly job: JobOptions
  readonly tasks: TaskInput[]
}

/** How a round ended: its results (in completion order) and the tasks it closed without. */
export interface RoundSummary<State> {
  readonly round: number
  readonly state: State
  readonly results: ReadonlyArray<MapResult<TaskInput>>
  /** Indices of the round's tasks that had no result when it closed (stragglers, failures). */
  readonly missing: readonly number[]
  readonly closedBy: 'all' | 'quorum' | 'deadline'
}

export interface RoundsOptions<State> {
  readonly initial: State
  readonly rounds: number
  /** Round t's job from the state after round t−1 and the tasks that round closed without. */
  readonly round: (state: State, t: number, missing: readonly number[]) => RoundJob | Promise<RoundJob>
  /** The next state from a round's results (e.g. averaged weight deltas read by CID). */
  readonly combine: (results: ReadonlyArray<MapResult<TaskInput>>, state: State, t: number) => State | Promise<State>
  /** Results that close a round at once (default: all its tasks); the rest of its job is cancelled. */
  readonly quorum?: number
  /** A round still open after this long closes with what it has, if that is at least one result. */
  readonly deadlineMs?: number
  readonly signal?: AbortSignal
  readonly onProgress?: (progress: TaskProgress & { round: number }) => void
  /** Sees each result of round t as it arrives, before the round closes (e.g. to start reading its outputs). */
  readonly onResult?: (result: MapResult<TaskInput>, t: number) => void
}

/**
 * Iterative jobs: round t+1 is built from the state combined from round t's results. A round
 * closes when all its tasks, or `quorum` of them, have a result, or at `deadlineMs`, so stragglers
 * do not hold it up; a failed task only ends the iteration if the round then misses its quorum.
 * Yields each round's summary.
 */
export async function * rounds<State> (client: ConunClient, options: RoundsOptions<State>): AsyncGenerator<RoundSummary<State>> {
  let state = options.initial
  let missing: readonly number[] = []
  for (let t = 0; t < options.rounds; t++) {
    const { job, tasks } = await options.round(state, t, missing)
    const quorum = Math.min(options.quorum ?? tasks.length, tasks.length)
    const closing = new AbortController()
    const deadline = new Error('the round reached its deadline')
    const timer = options.deadlineMs === undefined ? undefined : setTimeout(() => closing.abort(deadline), options.deadlineMs)
    const signal = options.signal === undefined ? closing.signal : AbortSignal.any([options.signal, closing.signal])
    const results: Array<MapResult<TaskInput>> = []
    let closedBy: RoundSummary<State>['closedBy'] = 'all'
    try {
      for await (const result of map(client, tasks, { ...job, task: task => task, signal, onProgress: p => options.onProgress?.({ ...p, round: t }) })) {
        results.push(result)
        options.onResult?.(result, t)
        if (results.length >= quorum && results.length < tasks.length) {
          closedBy = 'quorum'
          break // leaving the loop cancels the round's remaining tasks
        }
      }
    } catch (error) {
      if (error === deadline && results.length > 0) closedBy = 'deadline'
      else if (error instanceof TaskFailedError && error.reason !== 'cancelled' && results.length >= quorum) closedBy = 'quorum'
      else throw error
    } finally {
      clearTimeout(timer)
    }
    const done = new Set(results.map(result => result.idx))
    missing = tasks.map((_, idx) => idx).filter(idx => !done.has(idx))
    state = await options.combine(results, state, t)
    yield { round: t, state, results, missing, closedBy }
  }
}
