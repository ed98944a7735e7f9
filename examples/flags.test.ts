import { test } from 'node:test'
import assert from 'node:assert/strict'
import { intFlag, positiveFlag } from './flags.ts'

test('intFlag reads integers in range and names the flag of anything else', () => {
  assert.equal(intFlag({ tasks: '12' }, 'tasks'), 12)
  assert.equal(intFlag({ warmup: '0' }, 'warmup', 0), 0)
  assert.throws(() => intFlag({ tasks: '0' }, 'tasks'), { name: 'RangeError', message: '--tasks must be a positive integer, got 0' })
  assert.throws(() => intFlag({ tasks: '1.5' }, 'tasks'), { message: '--tasks must be a positive integer, got 1.5' })
  assert.throws(() => intFlag({ tasks: 'many' }, 'tasks'), { message: '--tasks must be a positive integer, got many' })
  assert.throws(() => intFlag({ trajectories: '1' }, 'trajectories', 2), { message: '--trajectories must be an integer of at least 2, got 1' })
  assert.throws(() => intFlag({}, 'tasks'), { message: '--tasks must be a positive integer, got undefined' })
})

test('positiveFlag reads finite numbers above 0', () => {
  assert.equal(positiveFlag({ dt: '0.005' }, 'dt'), 0.005)
  assert.throws(() => positiveFlag({ dt: '0' }, 'dt'), { name: 'RangeError', message: '--dt must be a positive number, got 0' })
  assert.throws(() => positiveFlag({ dt: 'Infinity' }, 'dt'), { message: '--dt must be a positive number, got Infinity' })
})
