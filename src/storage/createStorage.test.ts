import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateNodeKey } from '../identity/index.ts'
import { hostOptions } from '../net/index.ts'
import { ContentNotFoundError, createStorage, inlineCid, InvalidCidError } from './index.ts'

async function startStorage () {
  const dir = await mkdtemp(join(tmpdir(), 'conun-storage-'))
  const key = await generateNodeKey()
  const storage = await createStorage(dir, hostOptions({ privateKey: key.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
  return { storage, dir, async stop () { await storage.stop(); await rm(dir, { recursive: true, force: true }) } }
}

test('content put on one node is fetched by CID from another and verified', async (t) => {
  const a = await startStorage()
  const b = await startStorage()
  t.after(async () => { await a.stop(); await b.stop() })
  const small = new TextEncoder().encode('hello conun')
  const big = randomBytes(3 * 1024 * 1024 + 17)
  const smallRef = await a.storage.putBytes(small)
  const bigRef = await a.storage.putBytes(big)
  assert.equal(smallRef.size, small.length)
  assert.equal(bigRef.size, big.length)
  assert.equal(smallRef.cid, inlineCid(small), 'a one-block file has the raw sha-256 CID')

  await b.storage.libp2p.dial(a.storage.libp2p.getMultiaddrs()[0]!)
  assert.equal(await b.storage.hasLocally(bigRef.cid), false)
  const path = join(b.dir, 'big.bin')
  assert.equal(await b.storage.fetchToFile(bigRef.cid, path, { from: [a.storage.libp2p.peerId] }), big.length)
  assert.deepEqual(await readFile(path), big)
  assert.equal(await b.storage.hasLocally(bigRef.cid), true)
  assert.deepEqual(Buffer.from(await b.storage.readBytes(smallRef.cid, 100)), Buffer.from(small))
})

test('bad CIDs, size limits and missing content give typed errors', async (t) => {
  const a = await startStorage()
  t.after(() => a.stop())
  await assert.rejects(a.storage.readBytes('not-a-cid', 10), InvalidCidError)
  const ref = await a.storage.putBytes(new Uint8Array(100))
  await assert.rejects(a.storage.readBytes(ref.cid, 10), ContentNotFoundError)
  const missing = inlineCid(randomBytes(8))
  await assert.rejects(a.storage.readBytes(missing, 10, { signal: AbortSignal.timeout(300) }))
})
