import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateNodeKey } from '../identity/index.ts'
import { hostOptions } from '../net/index.ts'
import { ContentTooLargeError, createStorage, InvalidDagError } from '../storage/index.ts'
import type { Storage } from '../storage/index.ts'
import { bounded, dirBytes, serveDag, terabyteFile, understatedFile } from '../storage/dagBombs.ts'
import { BlobCache, CacheFullError } from './blobCache.ts'

/** A temp folder with storages named `names` in it, all stopped and removed after the test. */
async function storagesIn<const Names extends readonly string[]> (t: TestContext, ...names: Names): Promise<{ dir: string, storages: { [K in keyof Names]: Storage } }> {
  const dir = await mkdtemp(join(tmpdir(), 'conun-cache-'))
  const storages = await Promise.all(names.map(async name => {
    const key = await generateNodeKey()
    return createStorage(join(dir, name), await hostOptions({ privateKey: key.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
  }))
  t.after(async () => {
    for (const storage of storages) await storage.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return { dir, storages: storages as { [K in keyof Names]: Storage } }
}

test('a cache with a byte limit drops the least recently used files to make room for a fetch', async (t) => {
  const { dir, storages: [storage] } = await storagesIn(t, 'ipfs')
  const refs = await Promise.all(['a', 'b', 'c'].map(letter => storage.putBytes(Buffer.alloc(1000, letter))))
  const cache = new BlobCache(join(dir, 'cache'), storage, { maxBytes: 2500, protectMs: 0 })
  for (const ref of refs) await cache.get(ref.cid, ref.size)
  assert.deepEqual((await readdir(join(dir, 'cache'))).sort(), [refs[1]!.cid, refs[2]!.cid].sort(), 'the oldest of three 1000-byte files went')
  await cache.get(refs[1]!.cid, refs[1]!.size)
  await cache.get(refs[0]!.cid, refs[0]!.size)
  assert.deepEqual((await readdir(join(dir, 'cache'))).sort(), [refs[0]!.cid, refs[1]!.cid].sort(), 'b was used more recently than c')
})

test('room is made for an input before it is fetched, and refused when the cache cannot make it', async (t) => {
  const { dir, storages: [storage] } = await storagesIn(t, 'ipfs')
  const refs = await Promise.all(['a', 'b', 'c', 'd'].map((letter, i) => storage.putBytes(Buffer.alloc(i === 3 ? 3000 : 1000, letter))))
  // Files handed out in the last minute are in use, so nothing can be evicted for the third.
  const cache = new BlobCache(join(dir, 'cache'), storage, { maxBytes: 2500, protectMs: 60_000 })
  await cache.get(refs[0]!.cid, refs[0]!.size)
  await cache.get(refs[1]!.cid, refs[1]!.size)
  await assert.rejects(cache.get(refs[2]!.cid, refs[2]!.size), CacheFullError)
  await assert.rejects(cache.get(refs[3]!.cid, refs[3]!.size), CacheFullError)
  assert.deepEqual((await readdir(join(dir, 'cache'))).sort(), [refs[0]!.cid, refs[1]!.cid].sort(), 'neither refused input was fetched')
  assert.ok(await dirBytes(join(dir, 'cache')) <= 2500)
})

test('an input declared small cannot fill the cache or the disk, whatever DAG it names', async (t) => {
  const { dir, storages: [provider, hostile] } = await storagesIn(t, 'provider', 'hostile')
  const [terabyte, understated] = await Promise.all([terabyteFile(), understatedFile()])
  await serveDag(hostile.libp2p, [terabyte, understated])
  await provider.libp2p.dial(hostile.libp2p.getMultiaddrs()[0]!)
  const cap = 10 * 1024 * 1024
  const cache = new BlobCache(join(dir, 'cache'), provider, { maxBytes: cap })
  const options = { from: [hostile.libp2p.peerId], signal: AbortSignal.timeout(3000) }
  // The provider's storage and cache together: a regression fails here instead of filling the disk.
  const used = async () => await dirBytes(join(dir, 'provider')) + await dirBytes(join(dir, 'cache'))
  const guard = <T>(operation: Promise<T>) => bounded(operation, join(dir, 'provider'), cap, 20_000)
  await assert.rejects(guard(cache.get(terabyte.root, 1000, options)), ContentTooLargeError)
  await assert.rejects(guard(cache.get(understated.root, 1000, options)), InvalidDagError)
  assert.ok(await used() <= cap, `the cache and blockstore hold ${await used()} bytes`)
})
