/**
 * Task images by CID: the tarball (`docker save` format) was fetched and verified against its CID
 * by the provider; it is loaded into the engine once and its image id remembered, so every later
 * task of the same image starts straight from the id. Images are known by their id, never by a tag.
 */
import { readBody } from './engine.ts'
import { DockerEngineError, InvalidImageError } from './errors.ts'
import { readImageManifest } from './imageManifest.ts'
import { repackImage } from './repackImage.ts'
import type { DockerEngine } from './engine.ts'

/** `POST /images/load` answers one JSON line per step; a failure is a line with `error`. */
interface LoadLine {
  readonly error?: string
}

const MAX_LOAD_ANSWER_BYTES = 1024 * 1024
/** Loaded images are tagged `conun-image:<hex of the image id>`, so they show up as conun's and are never dangling. */
const IMAGE_REPO = 'conun-image'

/** What `GET /images/{name}/json` tells of an image. */
interface ImageInspect {
  readonly Id: string
  readonly Config?: { readonly Volumes?: Readonly<Record<string, unknown>> | null }
}

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
      id = this.load(tarballPath)
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
   * Loads the image the tarball holds, re-packed under conun's own manifest (see repackImage.ts),
   * and checks what the engine made of it before any container is created from it.
   */
  private async load (tarballPath: string): Promise<string> {
    const image = await readImageManifest(tarballPath)
    const tag = `${IMAGE_REPO}:${image.imageId.slice('sha256:'.length)}`
    this.loads++
    const res = await this.engine.upload('POST', '/images/load?quiet=1', repackImage(tarballPath, image, tag), 'application/x-tar')
      .catch(error => { throw error instanceof DockerEngineError && error.status < 500 ? new InvalidImageError(error.message) : error })
    const lines = (await readBody(res, MAX_LOAD_ANSWER_BYTES)).split('\n').filter(line => line.trim() !== '').map(line => JSON.parse(line) as LoadLine)
    const failure = lines.find(line => line.error !== undefined)
    if (failure !== undefined) throw new InvalidImageError(`the image tarball does not load: ${failure.error}`)
    const loaded = await this.inspect(tag)
    if (loaded?.Id !== image.imageId) throw new InvalidImageError(`the engine does not hold ${image.imageId}, the image the tarball holds`)
    // The engine gives each declared volume a writable folder of its own, outside /out and its cap.
    const volumes = Object.keys(loaded.Config?.Volumes ?? {})
    if (volumes.length > 0) {
      await this.engine.json('DELETE', `/images/${tag}`).catch(() => { /* another runtime refusing the same image removed it first */ })
      throw new InvalidImageError(`the image declares volumes (${volumes.join(', ')}); a volume is writable storage outside the output limit, so conun runs no image with one`)
    }
    return image.imageId
  }

  /** The image with this name or id, or undefined when the engine has none. */
  private async inspect (name: string): Promise<ImageInspect | undefined> {
    try {
      return await this.engine.json<ImageInspect>('GET', `/images/${encodeURIComponent(name)}/json`)
    } catch (error) {
      if (error instanceof DockerEngineError && error.status === 404) return undefined
      throw error
    }
  }
}
