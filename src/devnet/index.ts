export { startLocalGrid } from './startLocalGrid.ts'
export type { GridNode, LocalGrid, LocalGridOptions } from './startLocalGrid.ts'
