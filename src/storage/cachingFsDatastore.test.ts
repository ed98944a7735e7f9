import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FsDatastore } from 'datastore-fs'
import { Key } from 'interface-datastore'
import { waitFor } from '../util/index.ts'
import { CachingFsDatastore } from './cachingFsDatastore.ts'
import type { CachingFsDatastoreOptions } from './cachingFsDatastore.ts'
import { ClosableFsDatastore } from './closableFsDatastore.ts'

const bytes = (...values: number[]) => Uint8Array.from(values)
/** A read as plain bytes (files come back as Buffers). */
const plain = async (read: Promise<Uint8Array>) => Uint8Array.from(await read)

/** A caching datastore and a plain one on the same folder: the plain one changes the files behind the cache's back. */
async function stores<S extends CachingFsDatastore = CachingFsDatastore> (
  t: { after: (fn: () => Promise<void>) => void },
  options: CachingFsDatastoreOptions = {},
  create: (dir: string, options: CachingFsDatastoreOptions) => S = (dir, options) => new CachingFsDatastore(dir, options) as S,
) {
  const dir = await mkdtemp(join(tmpdir(), 'conun-datastore-'))
  t.after(async () => rm(dir, { recursive: true, force: true }))
  const caching = create(dir, options)
  const disk = new FsDatastore(dir)
  await caching.open()
  await disk.open()
  return { caching, disk }
}

test('values written or read once are served from memory afterwards; a delete forgets them', async (t) => {
  const { caching, disk } = await stores(t)
  const written = new Key('/peers/written')
  const read = new Key('/peers/read')
  await caching.put(written, bytes(1))
  assert.deepEqual(await plain(disk.get(written)), bytes(1), 'writes go to disk')
  await disk.put(read, bytes(2))
  assert.deepEqual(await plain(caching.get(read)), bytes(2))
  // Changed behind the cache's back: the cache still answers what it wrote or read.
  await disk.put(written, bytes(9))
  await disk.put(read, bytes(9))
  assert.deepEqual(await plain(caching.get(written)), bytes(1))
  assert.deepEqual(await plain(caching.get(read)), bytes(2))
  await disk.delete(read)
  assert.equal(await caching.has(read), true)
  await caching.delete(written)
  assert.equal(await caching.has(written), false)
  await assert.rejects(caching.get(written), { name: 'NotFoundError' })
})

test('beyond its byte budget the cache lets the least recently used values go', async (t) => {
  const { caching, disk } = await stores(t, { maxCachedBytes: 8 })
  const keys = ['/a', '/b', '/c'].map(name => new Key(name))
  await caching.put(keys[0]!, bytes(1, 1, 1, 1))
  await caching.put(keys[1]!, bytes(2, 2, 2, 2))
  await caching.get(keys[0]!) // /a is now the most recently used
  await caching.put(keys[2]!, bytes(3, 3, 3, 3))
  for (const key of keys) await disk.put(key, bytes(0))
  assert.deepEqual(await plain(caching.get(keys[2]!)), bytes(3, 3, 3, 3))
  assert.deepEqual(await plain(caching.get(keys[0]!)), bytes(1, 1, 1, 1))
  assert.deepEqual(await plain(caching.get(keys[1]!)), bytes(0), '/b went: read from disk again')
})

test('a read from disk that a write overtakes is not kept: the written value is', async (t) => {
  const { caching, disk } = await stores(t)
  const key = new Key('/peers/raced')
  await disk.put(key, bytes(1))
  const reading = caching.get(key)
  await caching.put(key, bytes(2))
  await reading
  await disk.put(key, bytes(9))
  assert.deepEqual(await plain(caching.get(key)), bytes(2))
})

test('a peer record is written at most once an interval: the newest waits, and reads get it meanwhile', async (t) => {
  const { caching, disk } = await stores(t, { minWriteIntervalMs: 300 })
  const peer = new Key('/peers/somebody')
  const other = new Key('/pins/something')
  await caching.put(peer, bytes(1))
  assert.deepEqual(await plain(disk.get(peer)), bytes(1), 'the first write goes at once')
  await caching.put(peer, bytes(2))
  await caching.put(peer, bytes(3))
  await caching.put(other, bytes(1))
  await caching.put(other, bytes(2))
  assert.deepEqual(await plain(disk.get(other)), bytes(2), 'other keys are written every time')
  assert.deepEqual(await plain(disk.get(peer)), bytes(1), 'the newer record waits')
  assert.deepEqual(await plain(caching.get(peer)), bytes(3))
  await waitFor(async () => (await disk.get(peer))[0] === 3, 5_000, 'the waiting record to be written')
})

test('a datastore that stops writes the peer records waiting, and nothing after', async (t) => {
  const { caching: datastore, disk } = await stores(t, { minWriteIntervalMs: 100 }, (dir, options) => new ClosableFsDatastore(dir, options))
  const peer = new Key('/peers/somebody')
  await datastore.put(peer, bytes(1))
  await datastore.put(peer, bytes(2))
  assert.deepEqual(await plain(disk.get(peer)), bytes(1), 'it waits')
  await datastore.stopWriting()
  assert.deepEqual(await plain(disk.get(peer)), bytes(2), 'written as the datastore stopped')
  await datastore.put(peer, bytes(3))
  await new Promise(resolve => setTimeout(resolve, 300))
  assert.deepEqual(await plain(disk.get(peer)), bytes(2))
})
