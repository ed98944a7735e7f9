/**
 * Task images by CID: the tarball (`docker save` format) was fetched and verified against its CID
 * by the provider; it is loaded into the engine once and its image id remembered, so every later
 * task of the same image starts straight from the id.
 */
import { createReadStream } from 'node:fs'
import { readBody } from './engine.ts'
import type { DockerEngine } from './engine.ts'

/** The tarball is not a loadable image: a fact about the job, reported as `invalid-image`. */
export class InvalidImageError extends Error {
  override readonly name = 'InvalidImageError'
}

/** `POST /images/load` answers one JSON line per step; these are the ones that matter here. */
interface LoadLine {
  readonly stream?: string
  readonly error?: string
}

const MAX_LOAD_ANSWER_BYTES = 1024 * 1024

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

  private async load (tarballPath: string): Promise<string> {
    this.loads++
    const res = await this.engine.upload('POST', '/images/load?quiet=1', createReadStream(tarballPath), 'application/x-tar')
    const lines = (await readBody(res, MAX_LOAD_ANSWER_BYTES)).split('\n').filter(line => line.trim() !== '').map(line => JSON.parse(line) as LoadLine)
    const failure = lines.find(line => line.error !== undefined)
    if (failure !== undefined) throw new InvalidImageError(`the image tarball does not load: ${failure.error}`)
    // "Loaded image: name:tag" for a tagged image, "Loaded image ID: sha256:…" for an untagged one.
    const loaded = lines.flatMap(line => /^Loaded image(?: ID)?: (\S+)/.exec(line.stream ?? '')?.[1] ?? [])
    if (loaded.length !== 1) throw new InvalidImageError(`an image tarball must hold exactly one image, this one held ${loaded.length}`)
    const inspected = await this.engine.json<{ Id: string }>('GET', `/images/${encodeURIComponent(loaded[0]!)}/json`)
    return inspected.Id
  }
}
