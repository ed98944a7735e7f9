import { test } from 'node:test'
import assert from 'node:assert/strict'
import { initialPolicyState, nextPolicyState, parseTimeWindow } from './idlePolicy.ts'
import type { IdlePolicyConfig, PolicyAction, PolicyInput, PolicyState } from './idlePolicy.ts'

const CONFIG: IdlePolicyConfig = { idleOnly: true, busyAbove: 0.3, idleForMs: 60_000, maxPausedMs: 600_000, windows: [], runOnBattery: false }
const NOON = 12 * 60

/** Feeds one reading every 10 s from `loads` and returns the states and actions seen. */
function replay (loads: readonly number[], config: IdlePolicyConfig = CONFIG, extra: Partial<PolicyInput> = {}) {
  let state: PolicyState = initialPolicyState(config, 0)
  const seen: Array<{ at: number, state: string, actions: PolicyAction[] }> = []
  loads.forEach((foreignLoad, i) => {
    const step = nextPolicyState(state, { now: (i + 1) * 10_000, minuteOfDay: NOON, foreignLoad, onBattery: false, ...extra }, config)
    state = step.state
    seen.push({ at: (i + 1) * 10, state: state.name, actions: step.actions })
  })
  return { seen, state }
}

test('idle-only: starts after the machine stayed quiet for idleForMs, pauses when it gets busy, resumes after another quiet spell', () => {
  const quiet = (n: number) => Array<number>(n).fill(0.05)
  const { seen } = replay([...quiet(7), 0.9, 0.1, ...quiet(7)])
  const at = (seconds: number) => seen.find(step => step.at === seconds)!
  assert.equal(at(60).state, 'idle-wait', 'quiet for 50 s only')
  assert.equal(at(70).state, 'running', 'quiet for 60 s')
  assert.deepEqual(at(80), { at: 80, state: 'paused-busy', actions: ['pause'] })
  assert.equal(at(140).state, 'paused-busy', 'quiet again for 50 s only')
  assert.deepEqual(at(150), { at: 150, state: 'running', actions: ['resume'] })
})

test('paused too long: tasks are given back once and the provider waits for idle again', () => {
  const { seen } = replay([...Array<number>(7).fill(0), ...Array<number>(70).fill(0.8)])
  const giveBacks = seen.filter(step => step.actions.includes('give-back'))
  assert.equal(giveBacks.length, 1)
  assert.equal(giveBacks[0]!.at, 80 + 600, 'paused at 80 s, given back 600 s later')
  assert.equal(seen.at(-1)!.state, 'idle-wait')
})

test('a load spike during the quiet spell restarts the wait', () => {
  const { seen } = replay([0, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 0, 0])
  assert.equal(seen.find(step => step.state === 'running')?.at, 130, 'quiet from 70 s, running 60 s later')
})

test('without idle-only the machine runs at once, but never on battery or outside its windows', () => {
  const always = { ...CONFIG, idleOnly: false }
  assert.equal(initialPolicyState(always, 0).name, 'running')
  assert.equal(replay([0.95], always).state.name, 'running', 'load does not matter')
  const battery = replay([0], always, { onBattery: true }).state
  assert.equal(battery.name, 'paused-busy')
  assert.equal(battery.reason, 'on battery')
  assert.equal(replay([0], { ...always, runOnBattery: true }, { onBattery: true }).state.name, 'running')
  const nights = { ...always, windows: [parseTimeWindow('22:00-07:00')] }
  assert.equal(replay([0], nights).state.name, 'paused-busy', 'noon is outside 22:00–07:00')
  assert.equal(replay([0], nights, { minuteOfDay: 23 * 60 }).state.name, 'running')
  assert.equal(replay([0], nights, { minuteOfDay: 6 * 60 + 59 }).state.name, 'running')
})

test('time windows are checked', () => {
  assert.deepEqual(parseTimeWindow('09:30-17:00'), { fromMinute: 570, toMinute: 1020 })
  assert.throws(() => parseTimeWindow('25:00-07:00'), RangeError)
  assert.throws(() => parseTimeWindow('nightly'), /HH:MM-HH:MM/)
})
