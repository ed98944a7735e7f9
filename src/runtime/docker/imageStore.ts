/**
 * Task images by CID: the tarball (`docker save` format) was fetched and verified against its CID
 * by the provider; it is loaded into the engine once and its image id remembered, so every later
 * task of the same image starts straight from the id.
 */
import { createReadStream } from 'node:fs'
import { readBody } from './engine.ts'
import { DockerEngineError, InvalidImageError } from './errors.ts'
import { readImageManifest } from './imageManifest.ts'
import type { DockerEngine } from './engine.ts'

/** `POST /images/load` answers one JSON line per step; a failure is a line with `error`. */
interface LoadLine {
  readonly error?: string
}

const MAX_LOAD_ANSWER_BYTES = 1024 * 1024
/** Loaded images are tagged `conun-image:<cid>`, so they show up as conun's and are never dangling. */
const IMAGE_REPO = 'conun-image'

export class ImageStore {
  private readonly engine: DockerEngine
  private readonly ids = new Map<string, Promise<string>>()
  loads = 0

  constructor (engine: DockerEngine) {
    this.engine = engine
  }

  /** The engine's image id for the tarball with this CID, loading it on first use. */
  imageId (cid: string, tarballPath: string): Promise<string> {
    let id = this.ids.get(cid)
    if (id === undefined) {
      id = this.load(cid, tarballPath)
      this.ids.set(cid, id)
      // A failed load is not remembered: the next task tries again (the daemon may have been restarting).
      id.catch(() => this.ids.delete(cid))
    }
    return id
  }

  /** Drops a CID whose image the engine no longer has (removed by hand, pruned). */
  forget (cid: string): void {
    this.ids.delete(cid)
  }

  /**
   * Loads the tarball and checks that the engine holds the image its manifest names. A tarball
   * carries tags of its own; loading it would move a tag the provider already uses, so such a
   * tarball is refused, and the new tags it sets are taken off again after the load.
   */
  private async load (cid: string, tarballPath: string): Promise<string> {
    const manifest = await readImageManifest(tarballPath)
    const taggedBefore = new Set<string>()
    for (const tag of manifest.repoTags) {
      const existing = await this.inspect(tag)
      if (existing === undefined) continue
      if (existing !== manifest.imageId) throw new InvalidImageError(`the image would take the tag ${tag} from another image on this provider`)
      taggedBefore.add(tag)
    }
    this.loads++
    const res = await this.engine.upload('POST', '/images/load?quiet=1', createReadStream(tarballPath), 'application/x-tar')
      .catch(error => { throw error instanceof DockerEngineError && error.status < 500 ? new InvalidImageError(error.message) : error })
    const lines = (await readBody(res, MAX_LOAD_ANSWER_BYTES)).split('\n').filter(line => line.trim() !== '').map(line => JSON.parse(line) as LoadLine)
    const failure = lines.find(line => line.error !== undefined)
    if (failure !== undefined) throw new InvalidImageError(`the image tarball does not load: ${failure.error}`)
    if (await this.inspect(manifest.imageId) !== manifest.imageId) throw new InvalidImageError(`the engine does not hold ${manifest.imageId}, the image the tarball's manifest names`)
    const tag = cid.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128)
    await this.engine.json('POST', `/images/${manifest.imageId}/tag?repo=${IMAGE_REPO}&tag=${encodeURIComponent(tag)}`)
    for (const repoTag of manifest.repoTags) {
      if (taggedBefore.has(repoTag)) continue
      // Another provider on this engine may have loaded the same tarball and taken the tag off first.
      await this.engine.json('DELETE', `/images/${encodeURIComponent(repoTag)}?noprune=1`).catch(error => {
        if (!(error instanceof DockerEngineError && error.status === 404)) throw error
      })
    }
    return manifest.imageId
  }

  /** The id of the image with this name or id, or undefined when the engine has none. */
  private async inspect (name: string): Promise<string | undefined> {
    try {
      return (await this.engine.json<{ Id: string }>('GET', `/images/${encodeURIComponent(name)}/json`)).Id
    } catch (error) {
      if (error instanceof DockerEngineError && error.status === 404) return undefined
      throw error
    }
  }
}
