import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { z } from 'zod'
import { ApiError } from '../errors.ts'
import { ensureWebBundle, WebBundleError } from '../../web/index.ts'
import type { FastifyInstance, FastifyReply } from 'fastify'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
}

/**
 * The browser pages: the dashboard at / and the browser provider at /provide. The pages hold no
 * secrets and are served to anyone; every call they make to /v1 needs a token (the provide page's,
 * the provide link's: see provide.ts).
 */
export function webRoutes (app: FastifyInstance): void {
  const send = async (reply: FastifyReply, path: string) => {
    let dir: string
    try {
      dir = await ensureWebBundle()
    } catch (error) {
      if (error instanceof WebBundleError) throw new ApiError(503, 'web-bundle-missing', error.message)
      throw error
    }
    const bytes = await readFile(join(dir, path)).catch(() => undefined)
    if (bytes === undefined) throw new ApiError(404, 'not-found', `no page ${path}`)
    const immutable = path.startsWith('assets/')
    return reply
      .type(CONTENT_TYPES[extname(path)] ?? 'application/octet-stream')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(bytes)
  }
  const page = { config: { access: 'public' as const } }
  app.get('/', page, async (_request, reply) => send(reply, 'dashboard/index.html'))
  app.get('/provide', page, async (_request, reply) => send(reply, 'provide/index.html'))
  app.get('/assets/:file', page, async (request, reply) => {
    // Vite names assets <name>-<hash>.<ext>: nothing else is served, so no path can leave the folder.
    const { file } = z.object({ file: z.string().regex(/^[A-Za-z0-9_.-]+\.(js|css|svg|wasm)$/).refine(name => !name.startsWith('.')) }).parse(request.params)
    return send(reply, `assets/${file}`)
  })
}
