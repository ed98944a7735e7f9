/** Presentation helpers of the CLI, shared with the demo script. (The CLI's entry is main.ts.) */
export { Progress } from './progress.ts'
export type { ProgressState } from './progress.ts'
export { table } from './format.ts'
export { formatBytes, shortId } from '../util/index.ts'
