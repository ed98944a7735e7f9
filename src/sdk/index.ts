export { ConunApiError, ConunClient, NodeNotRunningError } from './client.ts'
export type { NodeEvent, NodeSummary, PeerSummary, ProvideSummary, WalletSummary } from './client.ts'
export { followJob } from './followJob.ts'
export type { JobProgress } from './followJob.ts'
