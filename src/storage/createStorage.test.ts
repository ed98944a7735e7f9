import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateNodeKey } from '../identity/index.ts'
import { hostOptions } from '../net/index.ts'
import { lpStream } from '@libp2p/utils'
import { ContentNotFoundError, createStorage, inlineCid, InvalidCidError, PROTOCOL_BLOCKS } from './index.ts'

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
  assert.equal(await b.storage.hasLocally(bigRef.cid), false, 'fetchToFile writes the file, not the blocks')
  await b.storage.fetch(bigRef.cid, { from: [a.storage.libp2p.peerId] })
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

test('a peer that sends bytes not matching the CID is caught, and bitswap is not fooled either', async (t) => {
  const honest = await startStorage()
  const liar = await startStorage()
  const reader = await startStorage()
  t.after(async () => { await honest.stop(); await liar.stop(); await reader.stop() })
  const content = randomBytes(1000)
  const { cid } = await honest.storage.putBytes(content)
  // The liar answers every block request with its own bytes.
  await liar.storage.libp2p.unhandle(PROTOCOL_BLOCKS)
  await liar.storage.libp2p.handle(PROTOCOL_BLOCKS, async stream => {
    const lp = lpStream(stream)
    await lp.read()
    await lp.write(Buffer.concat([Uint8Array.of(1), randomBytes(1000)]))
  })
  await reader.storage.libp2p.dial(liar.storage.libp2p.getMultiaddrs()[0]!)
  await reader.storage.libp2p.dial(honest.storage.libp2p.getMultiaddrs()[0]!)
  // The forged block is refused; the content then comes, verified, from the honest peer.
  const bytes = await reader.storage.readBytes(cid, 2000, { from: [liar.storage.libp2p.peerId], signal: AbortSignal.timeout(20_000) })
  assert.deepEqual(Buffer.from(bytes), content)
})
