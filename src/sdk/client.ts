import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { isCid } from '../util/index.ts'
import WebSocket from 'ws'
import { mapSources, parseJobSpec, specSources } from '../requester/index.ts'
import { ContentTooLargeError } from '../storage/index.ts'
import type { JobStatus, JobSpecInput, PaymentStatus, ProviderReputation, RequesterEvent, TaskOutcome, JobRecord } from '../requester/index.ts'
import type { NodeInfoFile } from './nodeInfoFile.ts'
import type { ConnectionPath, OfferBody, Reachability, TaskResultsBody } from '../net/index.ts'
import type { ChainHealth } from '../ledger/index.ts'
import type { ProviderEvent, ProviderStatus } from '../provider/index.ts'

export interface NodeSummary {
  readonly peerId: string
  readonly address: string
  readonly chainId: number
  /** Whether the node's chain RPC answers; jobs keep running while it does not, and settle when it is back. */
  readonly chain: ChainHealth
  readonly multiaddrs: string[]
  readonly reachability: Reachability
  readonly provider: ProviderStatus | null
  readonly runningJobs: number
}

/** What a browser provider needs to join the grid through this node (GET /v1/provide). */
export interface ProvideSummary {
  readonly peerId: string
  readonly chainId: number
  /** The node's WebSocket listen addresses, with /p2p/<peerId>. */
  readonly multiaddrs: string[]
  /** conun's contracts on that chain, readable through POST /v1/provide/chain. */
  readonly chain: { readonly token: `0x${string}`, readonly escrow: `0x${string}` }
}

export interface PeerSummary {
  readonly peerId: string
  readonly connected: boolean
  /** Open connections and how each reaches the peer. */
  readonly connections: Array<{ readonly addr: string, readonly path: ConnectionPath }>
  readonly addrs: string[]
  readonly offer: OfferBody | null
  /** How this node's jobs went on that provider, if it ever worked for them. */
  readonly reputation: ProviderReputation | null
}

export type NodeEvent = ({ source: 'requester' } & RequesterEvent) | ({ source: 'provider' } & ProviderEvent)

/** An error the node's API answered with. */
export interface WalletSummary {
  readonly address: string
  readonly chainId: number
  readonly token: string
  readonly escrow: string
  readonly conWei: string
  readonly ethWei: string
  /** The node's standing balance in the escrow that no open job holds (what its jobs open from). */
  readonly escrowFreeWei: string
  readonly receipts: Array<{ jobKey: string, jobId: string, requester: string, cumulativeWei: string, paidWei: string, state: 'open' | 'settled' | 'short' }>
}

export class ConunApiError extends Error {
  override readonly name = 'ConunApiError'
  readonly status: number
  readonly code: string
  readonly issues: readonly string[]
  constructor (status: number, code: string, message: string, issues: readonly string[] = []) {
    super(issues.length > 0 && !message.includes(issues[0]!) ? `${message}\n  - ${issues.join('\n  - ')}` : message)
    this.status = status
    this.code = code
    this.issues = issues
  }
}

export class NodeNotRunningError extends Error {
  override readonly name = 'NodeNotRunningError'
}

/** A client of a conun node's local API (what the CLI and scripts use). */
export class ConunClient {
  readonly url: string
  private readonly token: string

  constructor (options: { url: string, token: string }) {
    this.url = options.url.replace(/\/$/, '')
    this.token = options.token
  }

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

  private async request<T> (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let response: Response
    const init: RequestInit & { duplex?: 'half' } = { method, headers: { authorization: `Bearer ${this.token}`, ...headers } }
    if (body instanceof Readable) {
      init.body = Readable.toWeb(body) as ReadableStream
      init.duplex = 'half'
    } else if (body !== undefined) {
      init.body = JSON.stringify(body)
      init.headers = { ...init.headers, 'content-type': 'application/json' }
    }
    try {
      response = await fetch(`${this.url}${path}`, init)
    } catch (error) {
      throw new NodeNotRunningError(`cannot reach the node at ${this.url}: ${(error as Error).message}`)
    }
    const text = await response.text()
    const json = text === '' ? undefined : JSON.parse(text) as unknown
    if (!response.ok) {
      const error = (json as { error?: { code?: string, message?: string, issues?: string[] } } | undefined)?.error
      throw new ConunApiError(response.status, error?.code ?? 'http-error', error?.message ?? `HTTP ${response.status}`, error?.issues)
    }
    return json as T
  }

  node (): Promise<NodeSummary> {
    return this.request('GET', '/v1/node')
  }

  async peers (): Promise<PeerSummary[]> {
    return (await this.request<{ peers: PeerSummary[] }>('GET', '/v1/peers')).peers
  }

  /** Streams a local file into the node's storage; returns its CID. */
  async uploadFile (path: string): Promise<{ cid: string, size: number }> {
    return this.request('POST', '/v1/content', createReadStream(path), { 'content-type': 'application/octet-stream' })
  }

  /** Stores bytes in the node's storage (e.g. weights a job reads by CID); returns their CID. */
  async uploadBytes (bytes: Uint8Array): Promise<{ cid: string, size: number }> {
    return this.request('POST', '/v1/content', Readable.from([bytes]), { 'content-type': 'application/octet-stream' })
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
    return this.request('POST', '/v1/jobs', mapSources(parsed, source => cids.get(source)!))
  }

  async jobs (): Promise<JobStatus[]> {
    return (await this.request<{ jobs: JobStatus[] }>('GET', '/v1/jobs')).jobs
  }

  /** A job's progress, and for a paid job its escrow, what it owes and what it paid. */
  job (id: string): Promise<JobStatus & { payment: PaymentStatus | null }> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}`)
  }

  /** A provider's results judged wrong, with the signed batches that prove what it sent. */
  async evidence (peerId: string): Promise<Array<{ jobId: string, idx: number, attempt: number, batch: { body: TaskResultsBody, signature: string } }>> {
    return (await this.request<{ evidence: Array<{ jobId: string, idx: number, attempt: number, batch: { body: TaskResultsBody, signature: string } }> }>('GET', `/v1/peers/${encodeURIComponent(peerId)}/evidence`)).evidence
  }

  /** The node's account: CON and ETH balances, and as a provider the receipts it holds. */
  wallet (): Promise<WalletSummary> {
    return this.request('GET', '/v1/wallet')
  }

  results (id: string): Promise<{ job: JobRecord, tasks: TaskOutcome[] }> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/results`)
  }

  cancel (id: string): Promise<JobStatus> {
    return this.request('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`)
  }

  /**
   * The bytes of content held by the node, as a stream. With `maxBytes` (an output's recorded
   * size), more is never passed on: the stream fails with ContentTooLargeError instead.
   */
  async content (cid: string, maxBytes = Number.POSITIVE_INFINITY): Promise<Readable> {
    const response = await fetch(`${this.url}/v1/content/${encodeURIComponent(cid)}`, { headers: { authorization: `Bearer ${this.token}` } })
    if (!response.ok || response.body === null) {
      const error = (await response.json().catch(() => undefined) as { error?: { code?: string, message?: string } } | undefined)?.error
      throw new ConunApiError(response.status, error?.code ?? 'http-error', error?.message ?? `HTTP ${response.status}`)
    }
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
