/**
 * The archive the engine loads: the image's config and layers copied out of the requester's
 * tarball, under a manifest conun writes. Its one tag is conun's own, named by the image id, so a
 * load can never move a tag the provider or anyone else uses; whatever else the tarball held (its
 * tags, other files, other manifests) never reaches the engine.
 */
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { InvalidImageError } from './errors.ts'
import { TAR_END, tarHeader, tarPadding } from './tarWriter.ts'
import type { ImageManifest } from './imageManifest.ts'
import type { TarFile } from './tarIndex.ts'

export function repackImage (tarballPath: string, image: ImageManifest, repoTag: string): Readable {
  return Readable.from(archive(tarballPath, image, repoTag))
}

async function * archive (tarballPath: string, image: ImageManifest, repoTag: string): AsyncGenerator<Uint8Array> {
  // One file per layer the tarball holds: a saver writes a layer used twice once, and links to it.
  const names = new Map<TarFile, string>()
  for (const layer of image.layers) if (!names.has(layer)) names.set(layer, `layer-${names.size}.tar`)
  const manifest = Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: [repoTag], Layers: image.layers.map(layer => names.get(layer)) }]))
  for (const [name, bytes] of [['manifest.json', manifest], ['config.json', image.config]] as const) {
    yield tarHeader({ name, type: '0', size: bytes.length })
    yield bytes
    yield tarPadding(bytes.length)
  }
  for (const [layer, name] of names) {
    yield tarHeader({ name, type: '0', size: layer.size })
    if (layer.size > 0) yield * copy(tarballPath, layer)
    yield tarPadding(layer.size)
  }
  yield TAR_END
}

async function * copy (tarballPath: string, layer: TarFile): AsyncGenerator<Buffer> {
  let copied = 0
  for await (const chunk of createReadStream(tarballPath, { start: layer.offset, end: layer.offset + layer.size - 1 }) as AsyncIterable<Buffer>) {
    copied += chunk.length
    yield chunk
  }
  // The header already promised `size` bytes: a shorter copy would shift every entry after it.
  if (copied !== layer.size) throw new InvalidImageError('the image tarball changed while it was loaded')
}
