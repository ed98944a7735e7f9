/**
 * Reads a `docker save` tarball (the legacy layout or the OCI one) without loading it: the one
 * image its manifest.json names, as the config bytes and where each layer lies. The image id is
 * the digest of the config, computed here; nothing else the tarball says about itself (file names,
 * tags, other manifests) is taken on trust, and nothing of it but the config and the layers is
 * ever handed to the engine.
 */
import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { InvalidImageError } from './errors.ts'
import { readExactly, readTarIndex, tarFile } from './tarIndex.ts'
import type { TarFile } from './tarIndex.ts'

const MAX_MANIFEST_BYTES = 1024 * 1024
const MAX_CONFIG_BYTES = 8 * 1024 * 1024
/** The engine's overlay storage stacks at most this many layers. */
const MAX_LAYERS = 128

export interface ImageManifest {
  /** `sha256:<hex>` of the config: the id the engine gives the image. */
  readonly imageId: string
  readonly config: Buffer
  /** The layers bottom-up; a layer the tarball holds once but names twice is the same TarFile. */
  readonly layers: readonly TarFile[]
}

export async function readImageManifest (tarballPath: string): Promise<ImageManifest> {
  const index = await readTarIndex(tarballPath)
  if (!index.has('manifest.json')) throw new InvalidImageError('not a docker save tarball: it has no manifest.json')
  const file = await open(tarballPath, 'r')
  try {
    const { size: archiveBytes } = await file.stat()
    const read = (entry: TarFile) => readExactly(file, entry.offset, entry.size, archiveBytes)
    const manifestFile = tarFile(index, 'manifest.json')
    if (manifestFile.size > MAX_MANIFEST_BYTES) throw new InvalidImageError('the image manifest is too large')
    const manifest = parseManifest((await read(manifestFile)).toString('utf8'))
    const configFile = tarFile(index, manifest.config)
    if (configFile.size > MAX_CONFIG_BYTES) throw new InvalidImageError(`the image config is larger than ${MAX_CONFIG_BYTES} bytes`)
    const config = await read(configFile)
    return {
      imageId: `sha256:${createHash('sha256').update(config).digest('hex')}`,
      config,
      layers: manifest.layers.map(layer => tarFile(index, layer)),
    }
  } finally {
    await file.close()
  }
}

function parseManifest (text: string): { config: string, layers: string[] } {
  let entries: unknown
  try {
    entries = JSON.parse(text)
  } catch {
    throw new InvalidImageError('the image manifest is not JSON')
  }
  if (!Array.isArray(entries) || entries.length !== 1) {
    throw new InvalidImageError(`an image tarball must hold exactly one image, this one holds ${Array.isArray(entries) ? entries.length : 0}`)
  }
  const entry = entries[0] as { Config?: unknown, Layers?: unknown }
  if (typeof entry.Config !== 'string') throw new InvalidImageError('the image manifest names no config')
  const layers = entry.Layers
  if (!Array.isArray(layers) || !layers.every(layer => typeof layer === 'string')) throw new InvalidImageError('the image manifest has no list of layers')
  if (layers.length > MAX_LAYERS) throw new InvalidImageError(`the image has ${layers.length} layers, more than the ${MAX_LAYERS} allowed`)
  return { config: entry.Config, layers }
}
