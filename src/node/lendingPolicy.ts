import { createLoadSource, initialPolicyState, nextPolicyState, onBattery, parseTimeWindow } from '../resources/index.ts'
import { ConfigError } from './config.ts'
import type { NodeConfig } from './config.ts'
import type { ProviderAgent } from '../provider/index.ts'
import type { IdlePolicyConfig, PolicyAction, PolicyState } from '../resources/index.ts'
import type { DockerRuntime, Runtime } from '../runtime/index.ts'

export interface LendingPolicyInit {
  readonly lending: NodeConfig['provider']['lending']
  readonly provider: ProviderAgent
  readonly runtimes: readonly Runtime[]
  /** Injected by tests; default /proc/stat, /sys/class/power_supply and the clock. */
  readonly readStat?: () => string
  readonly onBattery?: () => boolean
  readonly now?: () => Date
}

export interface LendingPolicy {
  stop(): Promise<void>
}

/** The policy's settings from the node configuration; a bad time window is a ConfigError. */
export function idlePolicyConfig (lending: NodeConfig['provider']['lending']): IdlePolicyConfig {
  let windows
  try {
    windows = lending.windows.map(parseTimeWindow)
  } catch (error) {
    throw new ConfigError(`provider.lending.windows: ${(error as Error).message}`)
  }
  return {
    idleOnly: lending.idleOnly,
    busyAbove: lending.busyAbovePercent / 100,
    idleForMs: lending.idleForSec * 1000,
    maxPausedMs: lending.maxPausedSec * 1000,
    windows,
    runOnBattery: lending.runOnBattery,
  }
}

/**
 * Reads the machine every `checkEverySec` and lends it or takes it back: the provider stops or
 * starts taking tasks, and running containers are paused, resumed or given back. WASI tasks cannot
 * be frozen in a worker thread; they finish, and no new ones start while the machine is busy.
 */
export function startLendingPolicy (init: LendingPolicyInit): LendingPolicy {
  const config = idlePolicyConfig(init.lending)
  const now = init.now ?? (() => new Date())
  const containers = init.runtimes.filter((runtime): runtime is DockerRuntime => runtime.name === 'docker')
  const sample = createLoadSource({
    ...(init.readStat === undefined ? {} : { readStat: init.readStat }),
    // conun's own CPU: this process with its worker threads, and its containers.
    ownCpuMs: async () => {
      const { user, system } = process.cpuUsage()
      const containerMs = await Promise.all(containers.map(runtime => runtime.cpuMs()))
      return (user + system) / 1000 + containerMs.reduce((sum, ms) => sum + ms, 0)
    },
  })
  const apply: Record<PolicyAction, () => Promise<void>> = {
    pause: async () => { await Promise.all(containers.map(runtime => runtime.pauseAll())) },
    resume: async () => { await Promise.all(containers.map(runtime => runtime.resumeAll())) },
    'give-back': async () => {
      await Promise.all(containers.map(runtime => runtime.giveBackPaused(`paused for the machine's owner longer than ${init.lending.maxPausedSec} s`)))
      await Promise.all(containers.map(runtime => runtime.resumeAll()))
    },
  }

  let state: PolicyState = initialPolicyState(config, now().getTime())
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let tick: Promise<void> = Promise.resolve()
  const step = async () => {
    const reading = await sample()
    const clock = now()
    const next = nextPolicyState(state, {
      now: clock.getTime(),
      minuteOfDay: clock.getHours() * 60 + clock.getMinutes(),
      foreignLoad: reading.foreignLoad,
      onBattery: (init.onBattery ?? onBattery)(),
    }, config)
    state = next.state
    for (const action of next.actions) await apply[action]()
    init.provider.setLending({ state: state.name, reason: state.reason, since: state.since, ...reading })
  }
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(() => {
      tick = step().catch(() => { /* a failed reading is retried at the next tick */ }).finally(schedule)
    }, init.lending.checkEverySec * 1000)
  }
  init.provider.setLending({ state: state.name, reason: state.reason, since: state.since, foreignLoad: 0, ownLoad: 0 })
  void sample() // the first reading is the baseline of the second
  schedule()
  return {
    async stop () {
      stopped = true
      clearTimeout(timer)
      await tick
    },
  }
}
