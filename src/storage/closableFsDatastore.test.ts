import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Key } from 'interface-datastore'
import { ClosableFsDatastore } from './closableFsDatastore.ts'

test('a stopped datastore finishes the writes under way and starts none: its folder, once removed, stays removed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'conun-datastore-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const datastore = new ClosableFsDatastore(join(dir, 'datastore'))
  await datastore.open()
  const underWay = datastore.put(new Key('/peers/first'), new Uint8Array([1]))
  await datastore.stopWriting()
  assert.ok(existsSync(join(dir, 'datastore', 'peers', 'first.data')), 'the write under way ended before stopWriting resolved')
  await underWay
  await rm(join(dir, 'datastore'), { recursive: true })
  // As libp2p does with a peer's record when a connection closes after the node stopped.
  await datastore.put(new Key('/peers/second'), new Uint8Array([2]))
  assert.ok(!existsSync(join(dir, 'datastore')))
})
