import { test } from 'node:test'
import assert from 'node:assert/strict'
import { IllegalTransitionError, nextTaskState } from './taskState.ts'
import type { TaskEvent, TaskState } from './taskState.ts'

test('a task moves queued → running → done, or back to queued to be retried', () => {
  assert.equal(nextTaskState('queued', 'dispatch'), 'running')
  assert.equal(nextTaskState('running', 'accept'), 'done')
  assert.equal(nextTaskState('running', 'retry'), 'queued')
  assert.equal(nextTaskState('running', 'fail'), 'failed')
  assert.equal(nextTaskState('queued', 'cancel'), 'cancelled')
})

test('ended tasks never change again, and no task is accepted without running', () => {
  const events: TaskEvent[] = ['dispatch', 'accept', 'retry', 'fail', 'cancel']
  for (const state of ['done', 'failed', 'cancelled'] as TaskState[]) {
    for (const event of events) assert.throws(() => nextTaskState(state, event), IllegalTransitionError)
  }
  assert.throws(() => nextTaskState('queued', 'accept'), IllegalTransitionError)
  assert.throws(() => nextTaskState('running', 'dispatch'), IllegalTransitionError)
})
