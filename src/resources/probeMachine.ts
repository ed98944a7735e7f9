import { availableParallelism, cpus, totalmem } from 'node:os'
import { benchmarkSpeed } from './benchmarkSpeed.ts'

export interface MachineProfile {
  readonly cores: number
  readonly memoryBytes: number
  readonly cpuModel: string
  /** Single-core speed score (see benchmarkSpeed.ts). */
  readonly speed: number
}

/** What this machine has to lend, as advertised in offers (whether it has Docker shows in the offer's runtimes). */
export function probeMachine (): MachineProfile {
  return {
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    speed: benchmarkSpeed(),
  }
}
