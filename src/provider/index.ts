export { createProviderAgent } from './createProviderAgent.ts'
export type { ProviderAgent, ProviderAgentInit, ProviderPolicy, ProviderStatus } from './createProviderAgent.ts'
export type { Admission, AdmissionDecision, ProviderEvent } from './providerContext.ts'
export type { ContentCache, TaskStorage } from './providerContext.ts'
