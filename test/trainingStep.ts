/** What the training tests share: one training step run on each of two providers, then replicated. */
import { map } from '../src/sdk/index.ts'
import type { GridNode } from '../src/devnet/index.ts'
import type { ConunClient, JobOptions, TaskInput, TaskOutput } from '../src/sdk/index.ts'

export interface StepResult {
  readonly delta: TaskOutput
  readonly provider: string
}

/**
 * Runs `step` of `job` on provider `a` alone, on `b` alone, and then with replication 2 (the grid
 * accepts a delta only when both replicas agree): the deltas and the providers that returned them.
 */
export async function stepOnTwoProviders (client: ConunClient, [a, b]: readonly GridNode[], job: JobOptions, step: TaskInput): Promise<{ onA: StepResult, onB: StepResult, replicated: StepResult }> {
  const deltaOn = async (options: { providers?: string[], replication?: number }): Promise<StepResult> => {
    for await (const result of map(client, [step], { ...job, replication: options.replication, constraints: { providers: options.providers }, task: task => task })) return { delta: result.files.delta!, provider: result.provider }
    throw new Error('the step returned no result')
  }
  const onA = await deltaOn({ providers: [a!.peerId] })
  const onB = await deltaOn({ providers: [b!.peerId] })
  return { onA, onB, replicated: await deltaOn({ replication: 2 }) }
}
