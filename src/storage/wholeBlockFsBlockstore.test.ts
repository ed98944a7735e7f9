import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { WholeBlockFsBlockstore } from './wholeBlockFsBlockstore.ts'

async function rawBlock (bytes: Uint8Array) {
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

test('a block larger than one file read comes back as one piece, byte for byte', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'conun-blockstore-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const store = new WholeBlockFsBlockstore(dir)
  await store.open()
  // 814 kB: a training delta, thirteen of FsBlockstore's 64 KiB reads.
  const { cid, bytes } = await rawBlock(randomBytes(814_000))
  await store.put(cid, bytes)
  const pieces: Uint8Array[] = []
  for await (const piece of store.get(cid)) pieces.push(piece)
  assert.equal(pieces.length, 1)
  assert.deepEqual(Buffer.from(pieces[0]!), Buffer.from(bytes))
  // getMany goes through get as well.
  for await (const { cid: got, bytes: answer } of store.getMany([cid])) {
    assert.ok(got.equals(cid))
    const many: Uint8Array[] = []
    for await (const piece of answer) many.push(piece)
    assert.equal(many.length, 1)
  }
})

test('a block that is not there is refused as by FsBlockstore', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'conun-blockstore-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const store = new WholeBlockFsBlockstore(dir)
  await store.open()
  const { cid } = await rawBlock(randomBytes(10))
  await assert.rejects(async () => { for await (const _ of store.get(cid)) { /* nothing */ } }, { name: 'NotFoundError' })
})
