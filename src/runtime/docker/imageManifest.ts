/**
 * Reads `manifest.json` out of a `docker save` tarball without loading it: which image it holds
 * (the config digest, which is the image id the engine will report) and which tags it would set.
 * Only the 512-byte tar headers are read on the way; layers are skipped by their size.
 */
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import { InvalidImageError } from './errors.ts'

const BLOCK = 512
const MAX_MANIFEST_BYTES = 1024 * 1024

export interface ImageManifest {
  /** `sha256:<hex>`, the id the engine gives the image. */
  readonly imageId: string
  readonly repoTags: readonly string[]
}

export async function readImageManifest (tarballPath: string): Promise<ImageManifest> {
  const file = await open(tarballPath, 'r')
  try {
    const { size } = await file.stat()
    const header = Buffer.alloc(BLOCK)
    for (let at = 0; at + BLOCK <= size;) {
      await file.read(header, 0, BLOCK, at)
      if (header.every(byte => byte === 0)) break // end of archive
      const name = field(header, 0, 100)
      const entrySize = parseInt(field(header, 124, 12).trim() || '0', 8)
      if (!Number.isSafeInteger(entrySize) || entrySize < 0) break
      if (name === 'manifest.json' || name === './manifest.json') {
        if (entrySize > MAX_MANIFEST_BYTES) throw new InvalidImageError('the image manifest is too large')
        const bytes = Buffer.alloc(entrySize)
        await file.read(bytes, 0, entrySize, at + BLOCK)
        return parseManifest(bytes.toString('utf8'))
      }
      at += BLOCK + Math.ceil(entrySize / BLOCK) * BLOCK
    }
    throw new InvalidImageError('not a docker save tarball: it has no manifest.json')
  } finally {
    await file.close()
  }
}

function parseManifest (text: string): ImageManifest {
  let entries: unknown
  try {
    entries = JSON.parse(text)
  } catch {
    throw new InvalidImageError('the image manifest is not JSON')
  }
  if (!Array.isArray(entries) || entries.length !== 1) {
    throw new InvalidImageError(`an image tarball must hold exactly one image, this one holds ${Array.isArray(entries) ? entries.length : 0}`)
  }
  const entry = entries[0] as { Config?: unknown, RepoTags?: unknown }
  // "<hex>.json" (Docker ≤ 24) or "blobs/sha256/<hex>" (the OCI layout of later engines).
  const hex = typeof entry.Config === 'string' ? basename(entry.Config).replace(/\.json$/, '') : ''
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new InvalidImageError('the image manifest names no config digest')
  const repoTags = Array.isArray(entry.RepoTags) ? entry.RepoTags.filter((tag): tag is string => typeof tag === 'string') : []
  return { imageId: `sha256:${hex}`, repoTags }
}

function field (block: Buffer, offset: number, length: number): string {
  const bytes = block.subarray(offset, offset + length)
  const end = bytes.indexOf(0)
  return bytes.subarray(0, end === -1 ? length : end).toString('utf8')
}
