import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { isCid } from '../util/index.ts'
import WebSocket from 'ws'
import { mapSources, parseJobSpec, specSources } from '../requester/index.ts'
import { ContentTooLargeError } from '../storage/index.ts'
import { ApiClient, ConunApiError, NodeNotRunningError } from './apiClient.ts'
import type { JobStatus, JobSpecInput } from '../requester/index.ts'
import type { NodeInfoFile } from './nodeInfoFile.ts'
import type { NodeEvent } from './apiTypes.ts'

/** A client of a conun node's local API for Node (what the CLI and scripts use): files, streams and events on top of the shared calls. */
export class ConunClient extends ApiClient {
  /** Finds the node running on `dataDir` through the node.json and api-token files it writes there. */
  static async fromDataDir (dataDir: string): Promise<ConunClient> {
    let info: NodeInfoFile
    let token: string
    try {
      info = JSON.parse(await readFile(join(dataDir, 'node.json'), 'utf8')) as NodeInfoFile
      token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
    } catch {
      throw new NodeNotRunningError(`no node is running on ${dataDir} (start one with: conun node start --data-dir ${dataDir})`)
    }
    return new ConunClient({ url: info.apiUrl, token })
  }

  /** Streams a local file into the node's storage; returns its CID. */
  async uploadFile (path: string): Promise<{ cid: string, size: number }> {
    return this.request('POST', '/v1/content', Readable.toWeb(createReadStream(path)), { contentType: 'application/octet-stream' })
  }

  /**
   * Submits a job spec. Local paths in it (module or image, inputs) are resolved against `baseDir`,
   * uploaded, and replaced by their CIDs; strings that are CIDs and not files are kept as they are.
   */
  async submitJob (spec: JobSpecInput | unknown, baseDir = process.cwd()): Promise<JobStatus> {
    const parsed = parseJobSpec(spec)
    const cids = new Map<string, string>()
    for (const source of specSources(parsed)) {
      const path = isAbsolute(source) ? source : resolve(baseDir, source)
      const isFile = await stat(path).then(s => s.isFile(), () => false)
      if (isFile) cids.set(source, (await this.uploadFile(path)).cid)
      else if (isCid(source)) cids.set(source, source)
      else throw new ConunApiError(400, 'invalid-spec', `"${source}" is neither a file (looked in ${dirname(path)}) nor a CID`)
    }
    return this.submitSpec(mapSources(parsed, source => cids.get(source)!))
  }

  /**
   * The bytes of content held by the node, as a stream. With `maxBytes` (an output's recorded
   * size), more is never passed on: the stream fails with ContentTooLargeError instead.
   */
  async content (cid: string, maxBytes = Number.POSITIVE_INFINITY): Promise<Readable> {
    const response = await this.fetchContent(cid)
    const body = Readable.fromWeb(response.body as never)
    if (!Number.isFinite(maxBytes)) return body
    return Readable.from((async function * () {
      let received = 0
      for await (const chunk of body as AsyncIterable<Buffer>) {
        received += chunk.byteLength
        if (received > maxBytes) {
          body.destroy()
          throw new ContentTooLargeError(cid, maxBytes, 'the node sent more')
        }
        yield chunk
      }
    })())
  }

  /** The bytes of content held by the node, in one buffer (for outputs known to be small). */
  async contentBytes (cid: string): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const chunk of await this.content(cid)) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }

  /** Live events; resolves once subscribed. Call the returned function to stop. */
  async events (onEvent: (event: NodeEvent) => void): Promise<() => void> {
    const socket = new WebSocket(`${this.url.replace(/^http/, 'ws')}/v1/events?token=${this.token}`)
    socket.on('message', data => {
      for (const event of JSON.parse(String(data)) as NodeEvent[]) onEvent(event)
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    return () => socket.close()
  }
}
