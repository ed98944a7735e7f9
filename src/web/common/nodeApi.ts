/**
 * The browser's client of the node API (the SDK's ConunClient is the Node one): the token comes
 * from #token= in the URL, or is asked for once, and is kept for the tab in sessionStorage.
 */
import type { NodeEvent, NodeSummary, PeerSummary, ProvideSummary } from '../../sdk/index.ts'
import type { JobRecord, JobStatus, PaymentStatus, TaskOutcome } from '../../requester/index.ts'

/** Where a tab keeps its token: the dashboard's is the API token, the provide page's the provide link's. */
export const API_TOKEN_KEY = 'conun.apiToken'
export const PROVIDE_TOKEN_KEY = 'conun.provideToken'

export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError'
  readonly status: number
  readonly code: string
  readonly issues: readonly string[]
  constructor (status: number, code: string, message: string, issues: readonly string[] = []) {
    super(message)
    this.status = status
    this.code = code
    this.issues = issues
  }
}

export interface JobResults {
  readonly job: JobRecord
  readonly tasks: Array<TaskOutcome & { args: string[], replicasReturned: number }>
}

/** The token from the URL fragment (then removed from the address bar), or the one kept for this tab. */
export function takeToken (key: string): string | undefined {
  const fragment = new URLSearchParams(location.hash.slice(1)).get('token')
  if (fragment !== null && fragment !== '') {
    sessionStorage.setItem(key, fragment)
    history.replaceState(null, '', location.pathname + location.search)
  }
  return sessionStorage.getItem(key) ?? undefined
}

export function keepToken (token: string): void {
  sessionStorage.setItem(API_TOKEN_KEY, token)
}

export function forgetToken (): void {
  sessionStorage.removeItem(API_TOKEN_KEY)
}

export class NodeApi {
  private readonly token: string

  constructor (token: string) {
    this.token = token
  }

  async request<T> (method: string, path: string, body?: BodyInit, contentType?: string): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` }
    if (contentType !== undefined) headers['content-type'] = contentType
    const response = await fetch(path, { method, headers, body })
    const text = await response.text()
    const json = text === '' ? undefined : JSON.parse(text) as unknown
    if (!response.ok) {
      const error = (json as { error?: { code?: string, message?: string, issues?: string[] } } | undefined)?.error
      throw new ApiRequestError(response.status, error?.code ?? 'http-error', error?.message ?? `HTTP ${response.status}`, error?.issues)
    }
    return json as T
  }

  node (): Promise<NodeSummary> {
    return this.request('GET', '/v1/node')
  }

  /** What a tab needs to join the grid as a provider; the provide link's token is enough. */
  provideInfo (): Promise<ProvideSummary> {
    return this.request('GET', '/v1/provide')
  }

  /** The provide link's token, to hand out instead of the API token. */
  async provideToken (): Promise<string> {
    return (await this.request<{ token: string }>('GET', '/v1/provide/token')).token
  }

  async peers (): Promise<PeerSummary[]> {
    return (await this.request<{ peers: PeerSummary[] }>('GET', '/v1/peers')).peers
  }

  async jobs (): Promise<JobStatus[]> {
    return (await this.request<{ jobs: JobStatus[] }>('GET', '/v1/jobs')).jobs
  }

  /** A job's status, with its escrow, owed and paid amounts when it is paid on chain. */
  job (id: string): Promise<JobStatus & { payment: PaymentStatus | null }> {
    return this.request('GET', `/v1/jobs/${id}`)
  }

  results (id: string): Promise<JobResults> {
    return this.request('GET', `/v1/jobs/${id}/results`)
  }

  cancel (id: string): Promise<JobStatus> {
    return this.request('POST', `/v1/jobs/${id}/cancel`)
  }

  submit (spec: unknown): Promise<JobStatus> {
    return this.request('POST', '/v1/jobs', JSON.stringify(spec), 'application/json')
  }

  upload (bytes: Blob): Promise<{ cid: string, size: number }> {
    return this.request('POST', '/v1/content', bytes, 'application/octet-stream')
  }

  async content (cid: string): Promise<Uint8Array> {
    const response = await fetch(`/v1/content/${cid}`, { headers: { authorization: `Bearer ${this.token}` } })
    if (!response.ok) throw new ApiRequestError(response.status, 'http-error', `cannot fetch ${cid}: HTTP ${response.status}`)
    return new Uint8Array(await response.arrayBuffer())
  }

  /**
   * Live events. Reconnects after a drop; `onOpen` runs on every (re)connection, so the caller can
   * reload what it may have missed.
   */
  events (onEvents: (events: NodeEvent[]) => void, onOpen: () => void, onUnauthorised: () => void): () => void {
    let socket: WebSocket | undefined
    let stopped = false
    const connect = () => {
      socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/v1/events?token=${encodeURIComponent(this.token)}`)
      socket.onopen = onOpen
      socket.onmessage = message => onEvents(JSON.parse(String(message.data)) as NodeEvent[])
      // A refused token fails the handshake (HTTP 401), which a page cannot tell from a drop: ask the API.
      socket.onclose = () => {
        if (stopped) return
        this.node().then(() => setTimeout(connect, 1000), (error: unknown) => {
          if (error instanceof ApiRequestError && error.status === 401) onUnauthorised()
          else setTimeout(connect, 1000)
        })
      }
    }
    connect()
    return () => {
      stopped = true
      socket?.close()
    }
  }
}
