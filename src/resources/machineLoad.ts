/** Readings of the machine for the idle policy: CPU used by other programs, and battery power. */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** /proc/stat counts in USER_HZ ticks, which Linux fixes at 100 per second for user space. */
const MS_PER_TICK = 10

export interface CpuTimes {
  /** Time all cores spent busy, in ms. */
  readonly busyMs: number
  /** Time all cores spent, busy or idle, in ms. */
  readonly totalMs: number
}

/** The machine-wide line of /proc/stat: user nice system idle iowait irq softirq steal (guest time is inside user). */
export function parseProcStat (text: string): CpuTimes {
  const fields = /^cpu\s+([\d\s]+)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number)
  if (fields === undefined || fields.length < 4) throw new Error('/proc/stat has no "cpu" line')
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields
  const busy = user + nice + system + irq + softirq + steal
  return { busyMs: busy * MS_PER_TICK, totalMs: (busy + idle + iowait) * MS_PER_TICK }
}

export interface LoadSourceOptions {
  /** CPU time used so far by conun itself and its tasks, in ms. */
  readonly ownCpuMs: () => number | Promise<number>
  readonly readStat?: () => string
}

/** Shares of the machine's CPU (0–1) since the previous reading. */
export interface LoadReading {
  /** Other programs: the whole machine's busy time minus conun's own. */
  readonly foreignLoad: number
  /** conun and its tasks. */
  readonly ownLoad: number
}

/** Returns a sampler; the first call reads nothing yet and answers zeros. */
export function createLoadSource (options: LoadSourceOptions): () => Promise<LoadReading> {
  const readStat = options.readStat ?? (() => readFileSync('/proc/stat', 'utf8'))
  let last: { cpu: CpuTimes, own: number } | undefined
  return async () => {
    const now = { cpu: parseProcStat(readStat()), own: await options.ownCpuMs() }
    const previous = last
    last = now
    const total = previous === undefined ? 0 : now.cpu.totalMs - previous.cpu.totalMs
    if (previous === undefined || total <= 0) return { foreignLoad: 0, ownLoad: 0 }
    const own = now.own - previous.own
    const share = (ms: number) => Math.min(1, Math.max(0, ms / total))
    return { foreignLoad: share(now.cpu.busyMs - previous.cpu.busyMs - own), ownLoad: share(own) }
  }
}

/** True when the machine runs on a discharging battery and no mains supply is online. */
export function onBattery (powerSupplyDir = '/sys/class/power_supply'): boolean {
  let supplies: string[]
  try {
    supplies = readdirSync(powerSupplyDir)
  } catch {
    return false // no power supply information: a desktop or a server
  }
  const read = (supply: string, file: string) => {
    try {
      return readFileSync(join(powerSupplyDir, supply, file), 'utf8').trim()
    } catch {
      return ''
    }
  }
  if (supplies.some(supply => read(supply, 'type') === 'Mains' && read(supply, 'online') === '1')) return false
  return supplies.some(supply => read(supply, 'type') === 'Battery' && read(supply, 'status') === 'Discharging')
}
