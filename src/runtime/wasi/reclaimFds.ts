/**
 * A worker killed mid-task leaves the fds uvwasi opened (preopens, the module's files) open in the
 * process: fds outlive threads. Once the worker is gone, close every fd that points into its task
 * folder, so each timeout does not leak a few fds for good.
 */
import { closeSync, readdirSync, readlinkSync } from 'node:fs'

const FD_DIR = '/proc/self/fd'

export function closeFdsUnder(dir: string): void {
  let fds: string[]
  try {
    fds = readdirSync(FD_DIR)
  } catch {
    return // no /proc (not Linux): nothing we can find
  }
  for (const fd of fds) {
    let target: string
    try {
      target = readlinkSync(`${FD_DIR}/${fd}`)
    } catch {
      continue // closed meanwhile, or the fd of the listing itself
    }
    if (target === dir || target.startsWith(`${dir}/`)) closeSync(Number(fd))
  }
}
