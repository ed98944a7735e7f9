/** Presentation helpers of the CLI, shared with the demo script. (The CLI's entry is main.ts.) */
export { Progress } from './progress.ts'
export type { ProgressState } from './progress.ts'
export { formatBytes, shortId, table } from './format.ts'
