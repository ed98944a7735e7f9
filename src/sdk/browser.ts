/**
 * The SDK's door for browsers: the API client core and its types, with nothing that needs Node
 * (files, streams, the `ws` package). Pages import this instead of index.ts.
 */
export { ApiClient, ConunApiError, NodeNotRunningError } from './apiClient.ts'
export type { EndedTasksPage, EvidenceSummary, JobResults, NodeEvent, NodeSummary, PeerSummary, ProvideSummary, TaskResultSummary, WalletSummary } from './apiTypes.ts'
