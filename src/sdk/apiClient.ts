/**
 * The core of every client of a node's API, in Node and in browsers alike (fetch only): requests
 * with the token, one error class for the node's answers, and the calls whose bodies are JSON.
 * ConunClient (src/sdk/client.ts) adds files, streams and events for Node; the web pages'
 * NodeApi (src/web/common/nodeApi.ts) adds what a page does.
 */
import { ConunError } from '../util/index.ts'
import type { ErrorKind } from '../util/index.ts'
import type { EndedTasksPage, EvidenceSummary, JobResults, LineReleaseSummary, NodeSummary, PeerSummary, ProvideSummary, WalletSummary } from './apiTypes.ts'
import type { JobStatus, PaymentStatus } from '../requester/index.ts'

/** An error the node's API answered with: its HTTP status, the error's code, and one line per problem. */
export class ConunApiError extends ConunError {
  override readonly name = 'ConunApiError'
  readonly status: number
  readonly code: string
  readonly kind: ErrorKind
  readonly issues: readonly string[]
  constructor (status: number, code: string, message: string, issues: readonly string[] = []) {
    super(issues.length > 0 && !message.includes(issues[0]!) ? `${message}\n  - ${issues.join('\n  - ')}` : message)
    this.status = status
    this.code = code
    this.kind = kindOfStatus(status)
    this.issues = issues
  }
}

/** No node answered at the address (or none runs on the data folder). */
export class NodeNotRunningError extends ConunError {
  override readonly name = 'NodeNotRunningError'
  readonly code = 'node-not-running'
  readonly kind = 'unavailable'
}

export class ApiClient {
  /** The node's base URL ('' in a page the node served: its own origin). */
  readonly url: string
  protected readonly token: string

  constructor (options: { url: string, token: string }) {
    this.url = options.url.replace(/\/$/, '')
    this.token = options.token
  }

  /** Sends a request with the token; `body` is sent as JSON unless it is raw bytes with their type. */
  protected async request<T> (method: string, path: string, body?: unknown, raw?: { contentType: string }): Promise<T> {
    const init: RequestInit & { duplex?: 'half' } = { method, headers: { authorization: `Bearer ${this.token}` } }
    if (raw !== undefined) {
      init.body = body as RequestInit['body']
      init.headers = { ...init.headers, 'content-type': raw.contentType }
      // A streamed body (Node) must say it is sent while the answer may already come.
      if (body instanceof ReadableStream) init.duplex = 'half'
    } else if (body !== undefined) {
      init.body = JSON.stringify(body)
      init.headers = { ...init.headers, 'content-type': 'application/json' }
    }
    let response: Response
    try {
      response = await fetch(`${this.url}${path}`, init)
    } catch (error) {
      throw new NodeNotRunningError(`cannot reach the node at ${this.url === '' ? 'this page\'s origin' : this.url}: ${(error as Error).message}`)
    }
    const text = await response.text()
    const json = text === '' ? undefined : JSON.parse(text) as unknown
    if (!response.ok) throw apiErrorOf(response.status, json)
    return json as T
  }

  /** GETs an answer to read as a stream or as bytes (content, a whole job's results); a refusal is a ConunApiError. */
  protected async fetchRaw (path: string): Promise<Response> {
    const response = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${this.token}` } })
    if (!response.ok || response.body === null) throw apiErrorOf(response.status, await response.json().catch(() => undefined))
    return response
  }

  /** Fetches content by CID; a refusal is a ConunApiError. */
  protected fetchContent (cid: string): Promise<Response> {
    return this.fetchRaw(`/v1/content/${encodeURIComponent(cid)}`)
  }

  /** Stores bytes in the node's storage (e.g. weights a job reads by CID, a file picked in a page); returns their CID. */
  uploadBytes (bytes: Uint8Array | Blob): Promise<{ cid: string, size: number }> {
    return this.request('POST', '/v1/content', bytes, { contentType: 'application/octet-stream' })
  }

  node (): Promise<NodeSummary> {
    return this.request('GET', '/v1/node')
  }

  async peers (): Promise<PeerSummary[]> {
    return (await this.request<{ peers: PeerSummary[] }>('GET', '/v1/peers')).peers
  }

  /** Submits a spec whose sources (module or image, inputs) are already CIDs held by the node. */
  submitSpec (spec: unknown): Promise<JobStatus> {
    return this.request('POST', '/v1/jobs', spec)
  }

  async jobs (): Promise<JobStatus[]> {
    return (await this.request<{ jobs: JobStatus[] }>('GET', '/v1/jobs')).jobs
  }

  /** A job's progress, and for a paid job its escrow, what it owes and what it paid. */
  job (id: string): Promise<JobStatus & { payment: PaymentStatus | null }> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}`)
  }

  /** Every task's outcome, in index order: one response for the whole job (see tasks and endedTasks for large jobs). */
  results (id: string): Promise<JobResults> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/results`)
  }

  /**
   * Tasks `from` to `from + limit - 1`, in index order, in whatever state each is; `next` is the
   * `after` from which endedTasks follows what ends after this answer.
   */
  tasks (id: string, from: number, limit = 1000): Promise<JobResults> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/results?from=${from}&limit=${limit}`)
  }

  /**
   * One page of the tasks that ended after number `after` (0: from the first), in the order they
   * ended; `next` is the `after` of the following page. Reading a job of any size this way holds
   * one page at a time, and each ended task is read once.
   */
  endedTasks (id: string, after: number, limit = 1000): Promise<EndedTasksPage> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/results?after=${after}&limit=${limit}`)
  }

  cancel (id: string): Promise<JobStatus> {
    return this.request('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`)
  }

  /** A provider's results judged wrong, with the signed batches that prove what it sent. */
  async evidence (peerId: string): Promise<EvidenceSummary[]> {
    return (await this.request<{ evidence: EvidenceSummary[] }>('GET', `/v1/peers/${encodeURIComponent(peerId)}/evidence`)).evidence
  }

  /** The node's account: CON and ETH balances, and as a provider the receipts it holds. */
  wallet (): Promise<WalletSummary> {
    return this.request('GET', '/v1/wallet')
  }

  /**
   * Takes back what the node's payment lines to providers no running job pays hold: each release is
   * announced, then done when this is called again after the escrow's notice (a day).
   */
  releaseLines (): Promise<LineReleaseSummary> {
    return this.request('POST', '/v1/wallet/release')
  }

  /** What a tab needs to join the grid as a provider; the provide link's token is enough. */
  provideInfo (): Promise<ProvideSummary> {
    return this.request('GET', '/v1/provide')
  }

  /** The provide link's token, to hand out instead of the API token. */
  async provideToken (): Promise<string> {
    return (await this.request<{ token: string }>('GET', '/v1/provide/token')).token
  }
}

function apiErrorOf (status: number, json: unknown): ConunApiError {
  const error = (json as { error?: { code?: string, message?: string, issues?: string[] } } | undefined)?.error
  return new ConunApiError(status, error?.code ?? 'http-error', error?.message ?? `HTTP ${status}`, error?.issues)
}

/** The kind of failure an HTTP status says; a failing node is unavailable to its caller, whatever went wrong inside. */
function kindOfStatus (status: number): ErrorKind {
  const kinds: Record<number, ErrorKind> = { 400: 'invalid', 401: 'denied', 402: 'payment', 403: 'refused', 404: 'not-found', 409: 'cancelled', 413: 'too-large' }
  return kinds[status] ?? (status >= 500 ? 'unavailable' : 'invalid')
}
