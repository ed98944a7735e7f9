import { Readable } from 'node:stream'
import { z } from 'zod'
import { ApiError } from '../errors.ts'
import { ContentTooLargeError, parseCid } from '../../storage/index.ts'
import type { ApiDeps } from '../apiDeps.ts'
import type { FastifyInstance } from 'fastify'

/** Largest upload; the body is streamed into storage, never held whole in memory. */
const MAX_UPLOAD_BYTES = 16 * 1024 ** 3

/** Content by CID: upload code and inputs before a job; download outputs after it. */
export function contentRoutes (app: FastifyInstance, node: ApiDeps): void {
  app.addContentTypeParser('application/octet-stream', { bodyLimit: MAX_UPLOAD_BYTES }, (_request, payload, done) => done(null, payload))

  app.post('/content', { bodyLimit: MAX_UPLOAD_BYTES }, async (request, reply) => {
    if (request.headers['content-type'] !== 'application/octet-stream') {
      throw new ApiError(415, 'unsupported-media-type', 'upload raw bytes with Content-Type: application/octet-stream')
    }
    const stored = await node.storage.putStream(request.body as Readable)
    return reply.status(201).send(stored)
  })

  app.get('/content/:cid', async (request, reply) => {
    const { cid } = z.object({ cid: z.string().min(1).max(200) }).parse(request.params)
    parseCid(cid)
    const inline = node.requester.inlineOutput(cid)
    if (inline !== undefined) return reply.type('application/octet-stream').send(Buffer.from(inline))
    // stat fails (404) unless the file's root is here; the stream then reads local blocks only, once,
    // and ends in an error at the first block that disagrees with the size declared (and sent) here.
    // Nothing larger than an upload is served: no content a node accepts is larger (outputs ≤ 1 GiB).
    const { size } = await node.storage.stat(cid)
    if (size > MAX_UPLOAD_BYTES) throw new ContentTooLargeError(cid, MAX_UPLOAD_BYTES, `it declares ${size} bytes`)
    return reply.type('application/octet-stream').header('content-length', size).send(Readable.from(node.storage.read(cid, { offline: true, maxBytes: size })))
  })
}
