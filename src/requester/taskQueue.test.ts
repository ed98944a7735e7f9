import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskQueue } from './taskQueue.ts'

test('a task queue hands out tasks in order, skipping those that do not fit, within the scan', () => {
  const queue = new TaskQueue()
  for (const idx of [0, 1, 1, 2, 3]) queue.push(idx)
  assert.equal(queue.take(() => true), 0)
  assert.equal(queue.take(idx => idx === 2), 2, 'a task further on, when the first do not fit')
  assert.equal(queue.take(idx => idx === 3, 2), undefined, 'only the first `scan` entries are looked at')
  assert.deepEqual([queue.length, queue.count(1)], [3, 2])
  queue.remove(1)
  assert.deepEqual([queue.length, queue.count(1)], [1, 0])
  queue.push(4)
  queue.push(4)
  assert.deepEqual(queue.drain(), [3, 4], 'drain answers each waiting task once')
  assert.equal(queue.length, 0)
})

test('a long queue taken from the front stays whole and in order', () => {
  const queue = new TaskQueue()
  for (let idx = 0; idx < 20_000; idx++) queue.push(idx)
  const taken: number[] = []
  for (let idx = queue.take(() => true); idx !== undefined; idx = queue.take(() => true)) taken.push(idx)
  assert.equal(taken.length, 20_000)
  assert.ok(taken.every((idx, i) => idx === i))
})
