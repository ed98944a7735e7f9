/**
 * The host folders a container sees at /in and /out. /out is a host folder, not a tmpfs: a tmpfs
 * is gone once the container exits, so nothing could copy the results out of it afterwards. Its
 * size is therefore enforced three ways: the kernel stops one file at the limit (RLIMIT_FSIZE),
 * a watchdog measures the folder while the task runs, and the folder is measured exactly at the end.
 */
import { chmod, lstat, mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { placeInputs } from '../wasi/taskFiles.ts'
import type { TaskRunRequest } from '../types.ts'

export interface TaskDirs {
  readonly root: string
  readonly inDir: string
  readonly outDir: string
}

export async function makeTaskDirs (root: string, inputs: TaskRunRequest['inputs']): Promise<TaskDirs> {
  const dirs = { root, inDir: join(root, 'in'), outDir: join(root, 'out') }
  await mkdir(root, { mode: 0o700 })
  await mkdir(dirs.inDir)
  await mkdir(dirs.outDir)
  placeInputs(dirs.inDir, inputs)
  // The task runs as an unprivileged user of its own: it reads /in and writes /out, and nothing of `root`.
  await readableTree(dirs.inDir)
  await chmod(dirs.outDir, 0o777)
  return dirs
}

export async function removeTaskDirs (dirs: TaskDirs): Promise<void> {
  await rm(dirs.root, { recursive: true, force: true })
}

/** Bytes and entries under `dir`, by apparent size (a sparse file counts in full). */
export async function measureDir (dir: string): Promise<{ bytes: number, entries: number }> {
  let bytes = 0
  let entries = 0
  const walk = async (path: string): Promise<void> => {
    let names: string[]
    try {
      names = await readdir(path)
    } catch {
      return // removed while we looked
    }
    for (const name of names) {
      entries++
      const stat = await lstat(join(path, name)).catch(() => undefined)
      if (stat === undefined) continue
      bytes += stat.size
      if (stat.isDirectory()) await walk(join(path, name))
    }
  }
  await walk(dir)
  return { bytes, entries }
}

async function readableTree (dir: string): Promise<void> {
  await chmod(dir, 0o755)
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await readableTree(path)
    else await chmod(path, 0o644)
  }
}
