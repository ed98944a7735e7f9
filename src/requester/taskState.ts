import { ConunError } from '../util/index.ts'
/**
 * The life of a task and of each attempt to run it, BOINC-style: named states, and one function
 * that decides every transition, so a task can never be accepted twice or resurrected after it ended.
 *
 *   queued ──dispatch──▶ running ──accept──▶ done
 *     ▲                    │ └────fail────▶ failed
 *     └──────retry─────────┘
 *   queued/running ──cancel──▶ cancelled        queued ──fail──▶ failed
 */
export type TaskState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled'
export type TaskEvent = 'dispatch' | 'accept' | 'retry' | 'fail' | 'cancel'

/** An attempt is one dispatch of a task to one provider. */
export type AttemptState = 'in-flight' | 'returned' | 'errored' | 'lost' | 'cancelled'

export type JobState = 'running' | 'completed' | 'failed' | 'cancelled'

export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set(['done', 'failed', 'cancelled'])

const transitions: Record<TaskState, Partial<Record<TaskEvent, TaskState>>> = {
  queued: { dispatch: 'running', fail: 'failed', cancel: 'cancelled' },
  running: { accept: 'done', retry: 'queued', fail: 'failed', cancel: 'cancelled' },
  done: {},
  failed: {},
  cancelled: {},
}

export class IllegalTransitionError extends ConunError {
  override readonly name = 'IllegalTransitionError'
  readonly code = 'illegal-transition'
  readonly kind = 'internal'
  constructor (state: TaskState, event: TaskEvent) {
    super(`a ${state} task cannot ${event}`)
  }
}

export function nextTaskState (state: TaskState, event: TaskEvent): TaskState {
  const next = transitions[state][event]
  if (next === undefined) throw new IllegalTransitionError(state, event)
  return next
}

/** Failures that say something about the task itself: another provider would see the same. */
export const DETERMINISTIC_FAILURES: ReadonlySet<string> = new Set(['trap', 'memory-limit', 'output-limit', 'invalid-module', 'invalid-image'])
