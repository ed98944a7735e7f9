export { ConunApiError, ConunClient, NodeNotRunningError } from './client.ts'
export type { NodeEvent, NodeSummary, PeerSummary } from './client.ts'
