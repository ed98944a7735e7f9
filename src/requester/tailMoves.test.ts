import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MOVE_BEHIND_TASKS_MS, tailMoves } from './tailMoves.ts'

const anyone = () => true

describe('the job\'s tail', () => {
  it('moves the task waiting behind a running one to a provider whose core is idle', () => {
    const providers = [{ peerId: 'slow', cores: 1, inFlight: 2, taskMs: undefined }, { peerId: 'idle', cores: 1, inFlight: 0, taskMs: undefined }]
    const waiting = [{ idx: 4, attempt: 1, peerId: 'slow' }]
    assert.deepEqual(tailMoves(providers, waiting, anyone), [{ task: waiting[0], to: 'idle' }])
  })

  it('moves nothing while every core is busy, nor what a provider is about to start', () => {
    const busy = [{ peerId: 'a', cores: 1, inFlight: 2, taskMs: undefined }, { peerId: 'b', cores: 1, inFlight: 1, taskMs: undefined }]
    assert.deepEqual(tailMoves(busy, [{ idx: 1, attempt: 1, peerId: 'a' }], anyone), [])
    // 'a' holds one task on two cores: not started yet, but not waiting behind another either.
    const starting = [{ peerId: 'a', cores: 2, inFlight: 1, taskMs: undefined }, { peerId: 'b', cores: 1, inFlight: 0, taskMs: undefined }]
    assert.deepEqual(tailMoves(starting, [{ idx: 1, attempt: 1, peerId: 'a' }], anyone), [])
  })

  it('moves the last sent first, no more than a provider holds beyond its cores, no more than the idle cores', () => {
    const providers = [{ peerId: 'a', cores: 2, inFlight: 4, taskMs: undefined }, { peerId: 'b', cores: 4, inFlight: 1, taskMs: undefined }]
    const waiting = [1, 2, 3].map(idx => ({ idx, attempt: 1, peerId: 'a' }))
    assert.deepEqual(tailMoves(providers, waiting, anyone).map(move => move.task.idx), [3, 2])
    const fewIdle = [{ peerId: 'a', cores: 1, inFlight: 4, taskMs: undefined }, { peerId: 'b', cores: 2, inFlight: 1, taskMs: undefined }]
    assert.deepEqual(tailMoves(fewIdle, waiting, anyone).map(move => move.task.idx), [3])
  })

  it('leaves a task waiting behind short tasks where it is', () => {
    const waiting = [{ idx: 4, attempt: 1, peerId: 'quick' }]
    const providers = (taskMs: number) => [{ peerId: 'quick', cores: 1, inFlight: 2, taskMs }, { peerId: 'idle', cores: 1, inFlight: 0, taskMs }]
    assert.deepEqual(tailMoves(providers(MOVE_BEHIND_TASKS_MS - 1), waiting, anyone), [])
    assert.deepEqual(tailMoves(providers(MOVE_BEHIND_TASKS_MS), waiting, anyone).map(move => move.to), ['idle'])
  })

  it('keeps replicas apart: a task goes only to a provider that may take it', () => {
    const providers = [{ peerId: 'a', cores: 1, inFlight: 2, taskMs: undefined }, { peerId: 'b', cores: 1, inFlight: 0, taskMs: undefined }, { peerId: 'c', cores: 1, inFlight: 0, taskMs: undefined }]
    const waiting = [{ idx: 7, attempt: 2, peerId: 'a' }]
    assert.deepEqual(tailMoves(providers, waiting, peerId => peerId !== 'b'), [{ task: waiting[0], to: 'c' }])
    assert.deepEqual(tailMoves(providers, waiting, () => false), [])
  })
})
