import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { paxRecord, TAR_END, tarball } from './tarWriter.ts'
import type { TarEntry } from './tarWriter.ts'
import { InvalidImageError } from './errors.ts'
import { readTarIndex, tarFile } from './tarIndex.ts'

let scratch: string
let written = 0

async function archive (bytes: Buffer): Promise<string> {
  const path = join(scratch, `${written++}.tar`)
  await writeFile(path, bytes)
  return path
}

async function refuses (bytes: Buffer, why: RegExp): Promise<void> {
  await assert.rejects(readTarIndex(await archive(bytes)), (error: Error) => error instanceof InvalidImageError && why.test(error.message), `expected a refusal matching ${why}`)
}

const manifest: TarEntry = { name: 'manifest.json', data: '[]' }
const longName = `${'d'.repeat(120)}/layer.tar`

describe('readTarIndex', () => {
  before(async () => { scratch = await mkdtemp(join(tmpdir(), 'conun-tar-')) })
  after(() => rm(scratch, { recursive: true, force: true }))

  it('names entries as the engine would: ustar prefix, pax path, GNU long name, ./ and trailing slashes', async () => {
    const path = await archive(tarball([
      { name: './', type: '5' },
      { name: './a/', type: '5' },
      { name: 'layer.tar', prefix: 'a', data: 'layer a' },
      { name: 'PaxHeaders/1', type: 'x', data: paxRecord('path', longName) + paxRecord('mtime', '1.5') },
      { name: 'truncated-name', data: 'long' },
      { name: '././@LongLink', type: 'L', gnu: true, data: `gnu-${longName}\0` },
      { name: 'x', gnu: true, data: 'gnu long' },
      // What `docker save` writes for a layer it already holds.
      { name: 'b/layer.tar', type: '2', link: '../a/layer.tar' },
      { name: 'c', type: '1', link: './a/layer.tar' },
      manifest,
    ]))
    const index = await readTarIndex(path)
    assert.deepEqual([...index.keys()], ['a', 'a/layer.tar', longName, `gnu-${longName}`, 'b/layer.tar', 'c', 'manifest.json'])
    const bytes = await readFile(path)
    const text = (name: string) => { const file = tarFile(index, name); return bytes.toString('utf8', file.offset, file.offset + file.size) }
    assert.equal(text('a/layer.tar'), 'layer a')
    assert.equal(text(longName), 'long')
    assert.equal(text(`gnu-${longName}`), 'gnu long')
    assert.equal(tarFile(index, 'b/layer.tar'), tarFile(index, 'a/layer.tar'), 'a symlink resolves to the entry it names')
    assert.equal(tarFile(index, 'c'), tarFile(index, 'a/layer.tar'), 'so does a hard link')
  })

  it('takes the size from a pax size record, as the engine does', async () => {
    const hidden = tarball([{ name: 'hidden', data: 'found' }]).subarray(0, -TAR_END.length)
    const index = await readTarIndex(await archive(tarball([{ name: 'PaxHeaders/f', type: 'x', data: paxRecord('size', '0') }, { name: 'f', data: hidden }])))
    assert.deepEqual([...index.keys()], ['f', 'hidden'])
  })

  const refusals: Array<[string, TarEntry[], RegExp]> = [
    ['two entries with one name', [manifest, manifest], /two entries are named manifest.json/],
    ['./a beside a', [{ name: './manifest.json', data: '' }, manifest], /two entries are named manifest.json/],
    ['a file and a folder with one name', [{ name: 'a', data: '' }, { name: 'a/', type: '5' }], /two entries are named a/],
    ['a folder twice', [{ name: 'a/', type: '5' }, { name: 'a', type: '5' }], /two entries are named a/],
    ['a pax path onto an existing name', [manifest, { name: 'P/x', type: 'x', data: paxRecord('path', 'manifest.json') }, { name: 'x', data: '' }], /two entries are named manifest.json/],
    ['a GNU long name onto an existing name', [manifest, { name: '././@LongLink', type: 'L', gnu: true, data: 'manifest.json\0' }, { name: 'x', gnu: true }], /two entries are named manifest.json/],
    ['a ustar prefix onto an existing name', [manifest, { prefix: '.', name: 'manifest.json', data: '' }], /two entries are named manifest.json/],
    ['a path with ..', [{ name: 'x/../manifest.json', data: '' }], /a path with \.\./],
    ['an absolute path', [{ name: '/etc/passwd', data: '' }], /an absolute path/],
    ['a symlink out of the archive', [{ name: 'a/l', type: '2', link: '../../etc/passwd' }], /outside the archive/],
    ['an absolute symlink', [{ name: 'l', type: '2', link: '/etc/passwd' }], /outside the archive/],
    ['a hard link with ..', [{ name: 'l', type: '1', link: '../etc/passwd' }], /a path with \.\./],
    ['a block device', [{ name: 'disk', type: '4' }], /a device node/],
    ['a character device', [{ name: 'tty', type: '3' }], /a device node/],
    ['a FIFO', [{ name: 'pipe', type: '6' }], /a FIFO/],
    ['a folder with data', [{ name: 'd/', type: '5', data: 'x'.repeat(600) }], /a directory entry with 600 bytes/],
    ['a symlink with data', [{ name: 'l', type: '2', link: 'a', data: 'x' }], /a link entry with 1 bytes/],
    ['a global pax header', [{ name: 'G', type: 'g', data: paxRecord('path', 'manifest.json') }, manifest], /a global pax header/],
    ['a GNU sparse record', [{ name: 'P', type: 'x', data: paxRecord('GNU.sparse.name', 'manifest.json') }, { name: 'x' }], /does not read \(GNU.sparse.name\)/],
    ['one key twice in a pax header', [{ name: 'P', type: 'x', data: paxRecord('path', 'a') + paxRecord('path', 'b') }, { name: 'x' }], /sets path twice/],
    ['two pax headers for one entry', [{ name: 'P', type: 'x', data: paxRecord('mtime', '1') }, { name: 'P', type: 'x', data: paxRecord('path', 'a') }, { name: 'x' }], /two pax headers/],
    ['a pax path and a GNU long name for one entry', [{ name: 'P', type: 'x', data: paxRecord('path', 'a') }, { name: '././@LongLink', type: 'L', gnu: true, data: 'b\0' }, { name: 'x' }], /named both by a pax path/],
    ['a malformed pax record', [{ name: 'P', type: 'x', data: '99 path=a\n' }, { name: 'x' }], /a malformed pax record/],
    ['a pax header that describes nothing', [{ name: 'P', type: 'x', data: paxRecord('path', 'a') }], /describes no entry/],
    ['an entry under a file', [{ name: 'a', data: '' }, { name: 'a/b', data: '' }], /lies under a, which is not a folder/],
    ['a file where a folder was implied', [{ name: 'a/b', data: '' }, { name: 'a', data: '' }], /two entries are named a/],
    ['an unknown entry type', [{ name: 'c', type: '7' }], /an entry of type '7'/],
  ]
  for (const [what, pieces, why] of refusals) {
    it(`refuses ${what}`, () => refuses(tarball(pieces), why))
  }

  it('refuses a bad checksum, a missing end, data after the end and a header that is not tar', async () => {
    const good = tarball([manifest])
    const flipped = Buffer.from(good)
    flipped[0] = 'M'.charCodeAt(0)
    await refuses(flipped, /wrong checksum/)
    await refuses(good.subarray(0, good.length - TAR_END.length), /ends without the two zero blocks/)
    await refuses(good.subarray(0, good.length - 512), /ends after one zero block/)
    await refuses(Buffer.concat([good, tarball([{ name: 'manifest.json', data: 'after the end' }])]), /data after the end/)
    await refuses(Buffer.from('not a tarball at all'.padEnd(2048, ' ')), /not a ustar, pax or GNU tar header/)
  })

  it('refuses a link chain that never reaches a file', async () => {
    const index = await readTarIndex(await archive(tarball([{ name: 'a', type: '2', link: 'b' }, { name: 'b', type: '2', link: 'a' }, { name: 'd/', type: '5' }])))
    assert.throws(() => tarFile(index, 'a'), /a chain of more than 8 links/)
    assert.throws(() => tarFile(index, 'd'), /is a folder, not a file/)
    assert.throws(() => tarFile(index, 'missing'), /it has no missing/)
  })
})
