export { startNode } from './startNode.ts'
export type { ConunNode, NodeInfoFile, StartNodeOptions } from './startNode.ts'
export { ConfigError, defaultDataDir, defaultNodeConfig, DEVNET_CHAIN_ID, DEVNET_PASSPHRASE, loadNodeConfig, nodeConfig } from './config.ts'
export type { NodeConfig, NodeConfigOverrides } from './config.ts'
