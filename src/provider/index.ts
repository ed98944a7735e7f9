export { createProviderAgent } from './createProviderAgent.ts'
export type { LendingState, ProviderAgent, ProviderAgentInit, ProviderPolicy, ProviderStatus } from './createProviderAgent.ts'
export type { Admission, AdmissionDecision, ProviderEvent } from './providerContext.ts'
