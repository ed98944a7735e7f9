/** What a running node publishes in its data dir, so the CLI (or anyone local) can reach it. */
export interface NodeInfoFile {
  readonly apiUrl: string
  readonly peerId: string
  readonly address: string
  readonly multiaddrs: string[]
  readonly pid: number
}
