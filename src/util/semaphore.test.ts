import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Semaphore } from './semaphore.ts'

test('a semaphore resized to 0 lets no one new in until it grows again', async () => {
  const slots = new Semaphore(2)
  await slots.acquire()
  slots.resize(0)
  let entered = 0
  const waiting = [slots.acquire().then(() => entered++), slots.acquire().then(() => entered++)]
  slots.release()
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(entered, 0, 'a release under a lowered limit wakes no one')
  slots.resize(2)
  await Promise.all(waiting)
  assert.equal(entered, 2)
})
