/**
 * A minimal Docker Engine API client over the local unix socket (node:http, no CLI, no SDK): JSON
 * calls, streamed uploads and downloads, and the hijacked attach stream.
 */
import { request as httpRequest } from 'node:http'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { readBody as readAnswer } from '../../util/index.ts'
import { DockerEngineError } from './errors.ts'

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock'
/**
 * Engine API 1.41 (Docker 20.10, Debian 12's docker.io). Pinning the version keeps request and
 * response shapes fixed; later engines still serve it.
 */
const API_PREFIX = '/v1.41'
/** Answers to JSON calls are small; anything larger is a broken or hostile daemon. */
const MAX_JSON_BYTES = 16 * 1024 * 1024

export interface CallOptions {
  readonly body?: unknown
}

export interface DockerEngine {
  /** A JSON call; resolves to the parsed answer (undefined for an empty one), rejects with DockerEngineError on a 4xx/5xx. */
  json<T>(method: string, path: string, options?: CallOptions): Promise<T>
  /** Streams `body` up (e.g. a tarball) and resolves to the answer, to be read as a stream. */
  upload(method: string, path: string, body: Readable, contentType: string): Promise<IncomingMessage>
  /** The answer as a stream (e.g. an image tarball). */
  download(path: string): Promise<IncomingMessage>
  /** Upgrades a POST to a raw two-way stream (the attach protocol). */
  hijack(path: string): Promise<Socket>
}

export function createDockerEngine (socketPath: string = DEFAULT_DOCKER_SOCKET): DockerEngine {
  const open = (method: string, path: string, headers: Record<string, string>) =>
    httpRequest({ socketPath, method, path: API_PREFIX + path, headers })

  /** Resolves to the answer, or rejects with the daemon's error message on a 4xx/5xx. */
  const answer = (req: ReturnType<typeof open>, method: string, path: string) => new Promise<IncomingMessage>((resolve, reject) => {
    req.once('error', reject)
    req.once('response', res => {
      if ((res.statusCode ?? 500) < 400) {
        resolve(res)
        return
      }
      readBody(res, MAX_JSON_BYTES).then(text => {
        let message = text.trim()
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? message
        } catch { /* plain-text error */ }
        reject(new DockerEngineError(res.statusCode ?? 500, `${method} ${path}`, message))
      }, reject)
    })
  })

  return {
    async json<T> (method: string, path: string, options: CallOptions = {}) {
      const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
      const req = open(method, path, payload === undefined ? {} : { 'content-type': 'application/json' })
      req.end(payload)
      const text = await readBody(await answer(req, method, path), MAX_JSON_BYTES)
      return (text.trim() === '' ? undefined : JSON.parse(text)) as T
    },
    async upload (method, path, body, contentType) {
      const req = open(method, path, { 'content-type': contentType })
      body.once('error', error => req.destroy(error))
      body.pipe(req)
      return answer(req, method, path)
    },
    async download (path) {
      const req = open('GET', path, {})
      req.end()
      return answer(req, 'GET', path)
    },
    hijack (path) {
      return new Promise<Socket>((resolve, reject) => {
        const req = open('POST', path, { connection: 'Upgrade', upgrade: 'tcp' })
        req.once('error', reject)
        req.once('upgrade', (_res, socket, head) => {
          if (head.length > 0) socket.unshift(head)
          resolve(socket)
        })
        // A plain answer instead of 101 Switching Protocols is an error.
        answer(req, 'POST', path).then(res => {
          res.resume()
          reject(new DockerEngineError(res.statusCode ?? 500, `POST ${path}`, 'the daemon did not upgrade the connection'))
        }, reject)
        req.end()
      })
    },
  }
}

/** The whole of the daemon's answer as text, refusing more than `maxBytes`. */
export const readBody = (res: IncomingMessage, maxBytes: number): Promise<string> => readAnswer(res, maxBytes, 'the Docker daemon\'s answer')

/** True when a Docker Engine answers on the socket (GET /_ping) within `timeoutMs`. */
export async function detectDocker (socketPath: string = DEFAULT_DOCKER_SOCKET, timeoutMs = 2000): Promise<boolean> {
  try {
    const req = httpRequest({ socketPath, method: 'GET', path: '/_ping', signal: AbortSignal.timeout(timeoutMs) })
    req.end()
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve)
      req.once('error', reject)
    })
    return res.statusCode === 200 && (await readBody(res, 1024)) === 'OK'
  } catch {
    return false
  }
}
