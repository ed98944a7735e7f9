import type { TaskDefinition } from './jobRecords.ts'

/**
 * What every task of a range job runs, with `{i}` standing for the task's index: a job of a
 * million tasks stores this once instead of a million definitions. The first `literal` args
 * (a Docker job's command) are taken as they are; `{i}` is filled in the others.
 */
export interface TaskTemplate {
  readonly args: readonly string[]
  readonly literal: number
  readonly env: TaskDefinition['env']
  readonly inputs: TaskDefinition['inputs']
}

/** Task `idx` of a range job: exactly what expanding the range would have given it. */
export function taskFromTemplate (template: TaskTemplate, idx: number): TaskDefinition {
  const i = String(idx)
  return {
    args: template.args.map((arg, k) => k < template.literal ? arg : arg.replaceAll('{i}', i)),
    env: template.env,
    inputs: template.inputs,
  }
}
