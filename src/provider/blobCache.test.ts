import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateNodeKey } from '../identity/index.ts'
import { hostOptions } from '../net/index.ts'
import { createStorage } from '../storage/index.ts'
import { BlobCache } from './blobCache.ts'

test('a cache with a byte limit drops the least recently used files after a fetch', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'conun-cache-'))
  const key = await generateNodeKey()
  const storage = await createStorage(join(dir, 'ipfs'), hostOptions({ privateKey: key.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
  t.after(async () => {
    await storage.stop()
    await rm(dir, { recursive: true, force: true })
  })
  const refs = await Promise.all(['a', 'b', 'c'].map(letter => storage.putBytes(Buffer.alloc(1000, letter))))
  const cache = new BlobCache(join(dir, 'cache'), storage, { maxBytes: 2500, protectMs: 0 })
  for (const ref of refs) await cache.get(ref.cid, ref.size)
  assert.deepEqual((await readdir(join(dir, 'cache'))).sort(), [refs[1]!.cid, refs[2]!.cid].sort(), 'the oldest of three 1000-byte files went')
  await cache.get(refs[1]!.cid, refs[1]!.size)
  await cache.get(refs[0]!.cid, refs[0]!.size)
  assert.deepEqual((await readdir(join(dir, 'cache'))).sort(), [refs[0]!.cid, refs[1]!.cid].sort(), 'b was used more recently than c')
})
