export { startLocalGrid, startNodeProcess, stopNode } from './startLocalGrid.ts'
export type { GridNode, LocalGrid, LocalGridOptions, NodeProcessOptions } from './startLocalGrid.ts'
