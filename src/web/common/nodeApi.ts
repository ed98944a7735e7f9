/**
 * The browser's client of the node API, on the SDK's shared core (the SDK's ConunClient is the Node
 * one): the token comes from #token= in the URL, or is asked for once, and is kept for the tab in
 * sessionStorage.
 */
import { ApiClient, ConunApiError } from '../../sdk/browser.ts'
import type { NodeEvent } from '../../sdk/browser.ts'

/** Where a tab keeps its token: the dashboard's is the API token, the provide page's the provide link's. */
export const API_TOKEN_KEY = 'conun.apiToken'
export const PROVIDE_TOKEN_KEY = 'conun.provideToken'

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

/** The pages' client: the SDK's shared calls on the node that served the page, plus content as bytes and live events. */
export class NodeApi extends ApiClient {
  constructor (token: string) {
    super({ url: '', token })
  }

  async content (cid: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.fetchContent(cid)).arrayBuffer())
  }

  /** A whole job's results as the node wrote them, to save as a file: never parsed, so a job of any size fits. */
  async resultsFile (jobId: string): Promise<Blob> {
    return (await this.fetchRaw(`/v1/jobs/${encodeURIComponent(jobId)}/results`)).blob()
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
          if (error instanceof ConunApiError && error.status === 401) onUnauthorised()
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
