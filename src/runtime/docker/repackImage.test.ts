import assert from 'node:assert/strict'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { after, before, describe, it } from 'node:test'
import { tarball } from './tarWriter.ts'
import { readImageManifest } from './imageManifest.ts'
import { repackImage } from './repackImage.ts'
import { readTarIndex, tarFile } from './tarIndex.ts'

let scratch: string

describe('repackImage', () => {
  before(async () => { scratch = await mkdtemp(join(tmpdir(), 'conun-repack-')) })
  after(() => rm(scratch, { recursive: true, force: true }))

  it('writes only the config, each layer once and a manifest with conun\'s tag alone', async () => {
    const original = join(scratch, 'original.tar')
    await writeFile(original, tarball([
      { name: 'c.json', data: '{"config":{}}' },
      { name: 'a/layer.tar', data: 'bottom layer' },
      { name: 'b/layer.tar', type: '2', link: '../a/layer.tar' },
      { name: 'top.tar', data: 'top layer'.repeat(100) },
      { name: 'repositories', data: '{"victim":{"1":"x"}}' },
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: ['victim:1'], Layers: ['a/layer.tar', 'b/layer.tar', 'top.tar'], Parent: 'sha256:x' }]) },
    ]))
    const image = await readImageManifest(original)
    const repacked = join(scratch, 'repacked.tar')
    await pipeline(repackImage(original, image, 'conun-image:abc'), createWriteStream(repacked))

    const index = await readTarIndex(repacked)
    assert.deepEqual([...index.keys()], ['manifest.json', 'config.json', 'layer-0.tar', 'layer-1.tar'])
    const bytes = await readFile(repacked)
    const text = (name: string) => { const file = tarFile(index, name); return bytes.toString('utf8', file.offset, file.offset + file.size) }
    assert.deepEqual(JSON.parse(text('manifest.json')), [{ Config: 'config.json', RepoTags: ['conun-image:abc'], Layers: ['layer-0.tar', 'layer-0.tar', 'layer-1.tar'] }])
    assert.equal(text('config.json'), '{"config":{}}')
    assert.equal(text('layer-0.tar'), 'bottom layer')
    assert.equal(text('layer-1.tar'), 'top layer'.repeat(100))
    assert.equal((await readImageManifest(repacked)).imageId, image.imageId, 'the image id does not change')
  })
})
