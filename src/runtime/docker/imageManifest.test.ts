import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { tarball } from './tarWriter.ts'
import type { TarEntry } from './tarWriter.ts'
import { readImageManifest } from './imageManifest.ts'

let scratch: string
let written = 0
const config = '{"rootfs":{"type":"layers","diff_ids":[]}}'
const configId = `sha256:${createHash('sha256').update(config).digest('hex')}`

async function read (pieces: TarEntry[]) {
  const path = join(scratch, `${written++}.tar`)
  await writeFile(path, tarball(pieces))
  return readImageManifest(path)
}

describe('readImageManifest', () => {
  before(async () => { scratch = await mkdtemp(join(tmpdir(), 'conun-manifest-')) })
  after(() => rm(scratch, { recursive: true, force: true }))

  it('names the image by the digest of its config, whatever the file is called, and finds a layer named twice once', async () => {
    const image = await read([
      { name: `${'0'.repeat(64)}.json`, data: config },
      { name: 'a/layer.tar', data: 'layer' },
      { name: 'b/layer.tar', type: '2', link: '../a/layer.tar' },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${'0'.repeat(64)}.json`, RepoTags: ['debian:12'], Layers: ['a/layer.tar', 'b/layer.tar'] }]) },
    ])
    assert.equal(image.imageId, configId)
    assert.equal(image.config.toString(), config)
    assert.equal(image.layers.length, 2)
    assert.equal(image.layers[0], image.layers[1])
  })

  const refusals: Array<[string, TarEntry[], RegExp]> = [
    ['no manifest.json', [{ name: 'repositories', data: '{}' }], /it has no manifest.json/],
    ['two images', [{ name: 'c.json', data: config }, { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', Layers: [] }, { Config: 'c.json', Layers: [] }]) }], /exactly one image, this one holds 2/],
    ['a manifest that is not JSON', [{ name: 'manifest.json', data: '[{' }], /not JSON/],
    ['a config that is not there', [{ name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', Layers: [] }]) }], /it has no c.json/],
    ['a layer that is a folder', [{ name: 'c.json', data: config }, { name: 'l/', type: '5' }, { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', Layers: ['l'] }]) }], /l is a folder/],
    ['a layer named with ..', [{ name: 'c.json', data: config }, { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', Layers: ['x/../c.json'] }]) }], /a path with \.\./],
    ['too many layers', [{ name: 'c.json', data: config }, { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', Layers: Array(129).fill('c.json') }]) }], /129 layers, more than the 128 allowed/],
  ]
  for (const [what, pieces, why] of refusals) {
    it(`refuses ${what}`, () => assert.rejects(read(pieces), why))
  }
})
