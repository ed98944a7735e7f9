/** What the benchmarks read about another process from /proc (Linux): resident memory and CPU time. */
import { readFileSync, statSync } from 'node:fs'

/** Resident set size, in MB. */
export function rssMb (pid: number): number {
  const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kib) / 1024
}

/** User + system CPU time used so far, in ms. */
export function cpuMs (pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Sizes of files that exist, in bytes (e.g. a SQLite database and its write-ahead log). */
export function fileBytes (...paths: string[]): number {
  return paths.reduce((sum, path) => sum + (statSync(path, { throwIfNoEntry: false })?.size ?? 0), 0)
}

/** The highest RSS each process reaches while `work` runs, sampled every `everyMs`. */
export async function peakRssDuring<T> (pids: readonly number[], work: () => Promise<T>, everyMs = 200): Promise<{ result: T, peakMb: number[] }> {
  const peakMb = pids.map(rssMb)
  const sample = () => pids.forEach((pid, i) => { peakMb[i] = Math.max(peakMb[i]!, rssMb(pid)) })
  const timer = setInterval(sample, everyMs)
  try {
    const result = await work()
    sample()
    return { result, peakMb }
  } finally {
    clearInterval(timer)
  }
}
