import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateNodeKey } from '../identity/index.ts'
import { hostOptions } from '../net/index.ts'
import { lpStream } from '@libp2p/utils'
import { CID } from 'multiformats/cid'
import { bounded, dirBytes, emptyBlocksFile, serveDag, terabyteFile, understatedFile, uniqueBlocksFile } from './dagBombs.ts'
import { ContentTooLargeError, createStorage, FetchAbortedError, inlineCid, InvalidCidError, InvalidDagError, PROTOCOL_BLOCKS, readFromPeer } from './index.ts'

async function startStorage () {
  const dir = await mkdtemp(join(tmpdir(), 'conun-storage-'))
  const key = await generateNodeKey()
  const storage = await createStorage(dir, await hostOptions({ privateKey: key.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
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
  // The size comes from the bytes added, not from reading the file back: it is what stat says.
  assert.deepEqual(await a.storage.stat(bigRef.cid), bigRef)
  assert.deepEqual(await a.storage.putStream((async function * () { yield big.subarray(0, 1000); yield big.subarray(1000) })()), bigRef)
  await writeFile(join(a.dir, 'big.bin'), big)
  assert.deepEqual(await a.storage.putFile(join(a.dir, 'big.bin')), bigRef)
  const empty = await a.storage.putBytes(new Uint8Array())
  assert.deepEqual(await a.storage.stat(empty.cid), empty)

  await b.storage.libp2p.dial(a.storage.libp2p.getMultiaddrs()[0]!)
  assert.equal(await b.storage.hasLocally(bigRef.cid), false)
  const path = join(b.dir, 'big.bin')
  assert.equal(await b.storage.fetchToFile(bigRef.cid, path, { from: [a.storage.libp2p.peerId], maxBytes: big.length }), big.length)
  assert.deepEqual(await readFile(path), big)
  assert.equal(await b.storage.hasLocally(bigRef.cid), false, 'fetchToFile writes the file, not the blocks')
  assert.equal(await b.storage.fetch(bigRef.cid, { from: [a.storage.libp2p.peerId], maxBytes: big.length }), big.length)
  assert.equal(await b.storage.hasLocally(bigRef.cid), true)
  assert.deepEqual(Buffer.from(await b.storage.readBytes(smallRef.cid, 100)), Buffer.from(small))
})

test('content that came inline is stored under its inline CID, empty content too, and served to peers', async (t) => {
  const a = await startStorage()
  const b = await startStorage()
  t.after(async () => { await a.stop(); await b.stop() })
  await b.storage.libp2p.dial(a.storage.libp2p.getMultiaddrs()[0]!)
  for (const bytes of [new Uint8Array(0), new TextEncoder().encode('a task output\n')]) {
    const cid = inlineCid(bytes)
    assert.equal(await a.storage.hasLocally(cid), false)
    assert.deepEqual(await a.storage.putInline(bytes), { cid, size: bytes.length })
    assert.deepEqual(await a.storage.stat(cid), { cid, size: bytes.length })
    assert.deepEqual(Buffer.from(await b.storage.readBytes(cid, 100, { from: [a.storage.libp2p.peerId] })), Buffer.from(bytes))
  }
})

test('bad CIDs, size limits and missing content give typed errors', async (t) => {
  const a = await startStorage()
  t.after(() => a.stop())
  await assert.rejects(a.storage.readBytes('not-a-cid', 10), InvalidCidError)
  const ref = await a.storage.putBytes(new Uint8Array(100))
  await assert.rejects(a.storage.readBytes(ref.cid, 10), ContentTooLargeError)
  const missing = inlineCid(randomBytes(8))
  await assert.rejects(a.storage.readBytes(missing, 10, { signal: AbortSignal.timeout(300) }), FetchAbortedError)
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

/** Two storages on loopback: `hostile` serves what the test gives it, `reader` fetches from it. */
async function hostilePair (t: { after: (fn: () => Promise<void>) => void }) {
  const hostile = await startStorage()
  const reader = await startStorage()
  t.after(async () => { await reader.stop(); await hostile.stop() })
  await reader.storage.libp2p.dial(hostile.storage.libp2p.getMultiaddrs()[0]!)
  return { hostile, reader, from: [hostile.storage.libp2p.peerId] }
}

test('DAG bombs are refused at the budget, before their links are followed, on every read path', async (t) => {
  const { hostile, reader, from } = await hostilePair(t)
  const [terabyte, understated, empties] = await Promise.all([terabyteFile(), understatedFile(), emptyBlocksFile()])
  await serveDag(hostile.storage.libp2p, [terabyte, understated, empties])
  // Declared as a 1000-byte input: each fetch must end well within 20 s and 8 MiB on disk.
  const budget = { from, maxBytes: 1000, signal: AbortSignal.timeout(60_000) }
  const guard = <T>(operation: Promise<T>) => bounded(operation, reader.dir, 8 * 1024 * 1024, 20_000)
  await assert.rejects(guard(reader.storage.fetch(terabyte.root, budget)), (error: Error) => error instanceof ContentTooLargeError && /declares 1099511627776 bytes/.test(error.message))
  await assert.rejects(guard(reader.storage.fetchToFile(terabyte.root, join(reader.dir, 'out.bin'), budget)), ContentTooLargeError)
  await assert.rejects(guard(reader.storage.readBytes(terabyte.root, 1000, budget)), ContentTooLargeError)
  // The browser provider's path: no blockstore, straight from the peer.
  const fromPeer = async () => { for await (const _ of readFromPeer(reader.storage.libp2p, from[0]!, CID.parse(terabyte.root), budget)) { /* nothing may come */ } }
  await assert.rejects(guard(fromPeer()), ContentTooLargeError)
  // A root that understates what it links to fails at the first block that disagrees with it.
  await assert.rejects(guard(reader.storage.fetch(understated.root, budget)), InvalidDagError)
  // An empty file of billions of empty blocks: their number is bounded too.
  await assert.rejects(guard(reader.storage.fetch(empties.root, budget)), (error: Error) => error instanceof ContentTooLargeError && /blocks/.test(error.message))
  assert.ok(await dirBytes(reader.dir) < 8 * 1024 * 1024, 'the bombs left little on disk')
})

test('an aborted fetch stops at once, and keeps no block that arrives after', async (t) => {
  const { hostile, reader, from } = await hostilePair(t)
  const file = await uniqueBlocksFile(200)
  // A slow peer: 200 blocks at 50 ms each would take 10 s.
  await serveDag(hostile.storage.libp2p, [file], 50)
  const fetching = reader.storage.fetch(file.root, { from, maxBytes: 200 * 1024, signal: AbortSignal.timeout(500) })
  await assert.rejects(bounded(fetching, reader.dir, 8 * 1024 * 1024, 20_000), FetchAbortedError)
  const held = async () => (await Promise.all(file.blocks.map(block => reader.storage.hasLocally(block.cid.toString())))).filter(Boolean).length
  const atAbort = await held()
  assert.ok(atAbort < file.blocks.length, `only part of the file came (${atAbort} blocks)`)
  // Longer than the blocks that were in flight would take to arrive.
  await new Promise(resolve => setTimeout(resolve, 1500))
  assert.equal(await held(), atAbort, 'no block was kept after the abort')
})
