import { availableParallelism, cpus, totalmem } from 'node:os'

export interface MachineProfile {
  readonly cores: number
  readonly memoryBytes: number
  readonly cpuModel: string
}

/** What this machine has to lend, as advertised in offers. */
export function probeMachine (): MachineProfile {
  return {
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  }
}
