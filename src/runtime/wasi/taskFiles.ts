/** The task's /in and /out folders on the host: filling /in, reading /out back. */
import { closeSync, constants, copyFileSync, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { OutputFile } from '../types.ts'
import { TaskFailure } from './errors.ts'
import { MAX_TASK_ENTRIES } from './sandboxRules.ts'

/** Throws unless every name is a plain relative path (`data/a.txt`) and no two clash. */
export function checkInputNames(inputs: ReadonlyArray<{ readonly name: string }>): void {
  const files = new Set<string>()
  const folders = new Set<string>()
  for (const { name } of inputs) {
    const segments = name.split('/')
    const bad = name.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..')
    if (bad) {
      throw new Error(`invalid input name ${JSON.stringify(name)}: use a relative path with no empty, "." or ".." parts`)
    }
    if (files.has(name) || folders.has(name)) throw new Error(`input name ${JSON.stringify(name)} is used twice`)
    files.add(name)
    for (let i = 1; i < segments.length; i++) folders.add(segments.slice(0, i).join('/'))
  }
  for (const folder of folders) {
    if (files.has(folder)) throw new Error(`input name ${JSON.stringify(folder)} is both a file and a folder`)
  }
}

/** Hard-links each input into `inDir` (no copy for big inputs), copying when links cannot cross devices. */
export function placeInputs(inDir: string, inputs: ReadonlyArray<{ readonly name: string, readonly path: string }>): void {
  for (const { name, path } of inputs) {
    const target = join(inDir, name)
    mkdirSync(dirname(target), { recursive: true })
    try {
      linkSync(path, target)
    } catch (err) {
      if (!isErrno(err, 'EXDEV') && !isErrno(err, 'EPERM')) throw err
      copyFileSync(path, target, constants.COPYFILE_FICLONE)
    }
  }
}

/**
 * Entries /out may hold, folders included: a result carries at most this many files (the wire
 * schema's bound), and empty folders cost the host inodes and blocks all the same.
 */
export const MAX_OUTPUT_FILES = MAX_TASK_ENTRIES

/**
 * Reads back every regular file under `outDir` (symlinks, devices and the like are skipped), after
 * checking the real sizes fit in `budget`: the shim's running count cannot see sparse files.
 */
export function collectOutputs(outDir: string, budget: number): OutputFile[] {
  const found: Array<{ path: string, size: number }> = []
  let total = 0
  let entries = 0
  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir)) {
      if (++entries > MAX_OUTPUT_FILES) throw new TaskFailure('output-limit', `more than ${MAX_OUTPUT_FILES} files and folders in /out`)
      const full = join(dir, entry)
      const stat = lstatSync(full)
      if (stat.isDirectory()) walk(full, `${prefix}${entry}/`)
      else if (stat.isFile()) {
        found.push({ path: `${prefix}${entry}`, size: stat.size })
        total += stat.size
      }
    }
  }
  walk(outDir, '')
  if (total > budget) {
    throw new TaskFailure('output-limit', `files in /out hold ${total} bytes, above the ${budget} bytes left of the output limit`)
  }
  return found.map(({ path }) => ({ path, bytes: readRegularFile(join(outDir, path)) }))
}

function readRegularFile(path: string): Uint8Array {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const bytes = new Uint8Array(fstatSync(fd).size)
    let at = 0
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at)
      if (n === 0) break
      at += n
    }
    return at === bytes.length ? bytes : bytes.subarray(0, at)
  } finally {
    closeSync(fd)
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code
}
