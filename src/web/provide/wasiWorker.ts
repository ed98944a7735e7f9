/**
 * A Web Worker that runs one WASI task at a time with @bjorn3/browser_wasi_shim: the same contract
 * as a node's sandbox (argv, the given env only, stdin, /in read-only, /out writable, output cap).
 * Everything lives in this worker's memory; the page kills the worker at the time limit.
 */
import { ConsoleStdout, Directory, File, OpenFile, PreopenDirectory, WASI } from '@bjorn3/browser_wasi_shim'
import type { Inode } from '@bjorn3/browser_wasi_shim'
import { ENTRY_BYTES, entryOverLimit, ERRNO_MFILE, ERRNO_PERM, ERRNO_ROFS, ERRNO_SUCCESS, MAX_TASK_FDS, nearMemoryCap, OFLAGS_WRITING, openOrCreate, RIGHTS_WRITING } from '../../runtime/index.ts'
import { concatBytes } from '../../util/index.ts'
import type { WorkerOutcome, WorkerTask } from './workerProtocol.ts'

class OutputLimitReached extends Error {}

/** The fds of /in, the read-only preopen, and /out (0–2 are stdio). */
const IN_FD = 3
const OUT_FD = 4
/** The 29 rights of WASI preview 1, all set; fdstat holds rights_base at +8 and rights_inheriting at +16. */
const ALL_RIGHTS = (1n << 29n) - 1n

const scope = self as unknown as { onmessage: ((event: MessageEvent<WorkerTask>) => void) | null, postMessage(message: WorkerOutcome, transfer?: Transferable[]): void }

scope.onmessage = ({ data: task }) => {
  const outcome = run(task)
  const transfer = outcome.status === 'exit' ? outcome.files.map(file => file.bytes.buffer as ArrayBuffer) : []
  scope.postMessage(outcome, transfer)
}

function run (task: WorkerTask): WorkerOutcome {
  /** stdout, stderr, every byte written to files and each file or folder created share the output budget, checked as they go. */
  let used = 0
  let entries = 0
  const reserve = (bytes: number) => {
    used += bytes
    if (used > task.outputBytes) throw new OutputLimitReached(`output exceeded the limit of ${task.outputBytes} bytes`)
  }
  const chargeEntry = () => {
    const over = entryOverLimit(++entries, used, task.outputBytes)
    if (over !== undefined) throw new OutputLimitReached(over)
    used += ENTRY_BYTES
  }
  const capture = () => {
    const chunks: Uint8Array[] = []
    const fd = new ConsoleStdout(buffer => {
      reserve(buffer.byteLength)
      chunks.push(buffer.slice())
    })
    return { fd, bytes: () => concatBytes(chunks) }
  }
  const stdout = capture()
  const stderr = capture()
  const out = new Map<string, Inode>()
  const wasi = new WASI(['task.wasm', ...task.args], Object.entries(task.env).map(([k, v]) => `${k}=${v}`), [
    new OpenFile(new File(task.stdin, { readonly: true })),
    stdout.fd,
    stderr.fd,
    new PreopenDirectory('/in', inputTree(task.inputs)),
    new PreopenDirectory('/out', out),
  ], { debug: false })
  const imports: Record<string, Record<string, unknown>> = { wasi_snapshot_preview1: withSandboxRules(wasi, reserve, chargeEntry) }
  let importedMemory: WebAssembly.Memory | undefined
  if (task.memory?.import !== undefined) {
    importedMemory = new WebAssembly.Memory({ initial: task.memory.initialPages, maximum: task.memory.maximumPages, shared: task.memory.shared })
    imports[task.memory.import.module] = { ...imports[task.memory.import.module], [task.memory.import.name]: importedMemory }
  }
  let instance: WebAssembly.Instance
  try {
    instance = new WebAssembly.Instance(task.module, imports as WebAssembly.Imports)
  } catch (error) {
    return failed('invalid-module', `cannot instantiate the module: ${(error as Error).message}`)
  }
  const memory = (instance.exports.memory as WebAssembly.Memory | undefined) ?? importedMemory
  if (memory === undefined || typeof instance.exports._start !== 'function') return failed('invalid-module', 'a WASI command must have a memory and export _start')
  let exitCode: number
  try {
    exitCode = wasi.start({ exports: { memory, _start: instance.exports._start as () => unknown } })
  } catch (error) {
    if (error instanceof OutputLimitReached) return failed('output-limit', error.message)
    const message = error instanceof Error ? error.message : String(error)
    if (nearMemoryCap(memory.buffer.byteLength, task.capBytes)) return failed('memory-limit', outOfMemory(message))
    return failed('trap', `the module trapped: ${message}`)
  }
  if (exitCode !== 0 && nearMemoryCap(memory.buffer.byteLength, task.capBytes)) return failed('memory-limit', outOfMemory(`exit code ${exitCode}`))
  const files = collect(out, '').sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return { status: 'exit', exitCode, stdout: stdout.bytes(), stderr: stderr.bytes(), files, memoryBytes: memory.buffer.byteLength }

  function outOfMemory (how: string): string {
    return `ran out of memory at ${memory!.buffer.byteLength} of the ${task.capBytes} bytes allowed (${how})`
  }

  function failed (reason: 'invalid-module' | 'trap' | 'output-limit' | 'memory-limit', message: string): WorkerOutcome {
    return { status: 'failed', reason, message, stdout: stdout.bytes(), stderr: stderr.bytes(), memoryBytes: memory?.buffer.byteLength ?? 0 }
  }
}

/**
 * The shim's calls, with /in and everything opened through it read-only, no links, file writes
 * counted against the output budget before they happen and each file or folder created as it is
 * made, and at most MAX_TASK_FDS fds open, as on a node (src/runtime/wasi/sandboxImports.ts): the
 * same module gets the same answers in both.
 */
function withSandboxRules (wasi: WASI, reserve: (bytes: number) => void, chargeEntry: () => void): Record<string, (...args: Array<number | bigint>) => unknown> {
  const real = wasi.wasiImport as Record<string, (...args: Array<number | bigint>) => unknown>
  const readOnly = new Set([IN_FD])
  /** The fds the task holds besides stdio: its preopens and what it opened. */
  const held = new Set([IN_FD, OUT_FD])
  const refuseOn = (name: string) => (fd: number | bigint, ...rest: Array<number | bigint>) =>
    readOnly.has(Number(fd)) ? ERRNO_ROFS : real[name]!(fd, ...rest)
  /** fd_write and fd_pwrite to files: stdio is counted by its own capture. */
  const writeTo = (name: 'fd_write' | 'fd_pwrite') => (fd: number | bigint, iovs: number | bigint, count: number | bigint, ...rest: Array<number | bigint>) => {
    if (readOnly.has(Number(fd))) return ERRNO_ROFS
    if (Number(fd) > 2) {
      const view = new DataView(wasi.inst.exports.memory.buffer)
      let bytes = 0
      for (let i = 0; i < Number(count); i++) bytes += view.getUint32(Number(iovs) + i * 8 + 4, true)
      reserve(bytes)
    }
    return real[name]!(fd, iovs, count, ...rest)
  }
  return {
    ...real,
    fd_write: writeTo('fd_write'),
    fd_pwrite: writeTo('fd_pwrite'),
    fd_allocate: refuseOn('fd_allocate'),
    fd_filestat_set_size: refuseOn('fd_filestat_set_size'),
    fd_filestat_set_times: refuseOn('fd_filestat_set_times'),
    path_create_directory: (fd, ...rest) => {
      if (readOnly.has(Number(fd))) return ERRNO_ROFS
      const errno = real.path_create_directory!(fd, ...rest)
      if (errno === ERRNO_SUCCESS) chargeEntry()
      return errno
    },
    fd_close: (fd) => {
      const errno = real.fd_close!(fd)
      if (errno === ERRNO_SUCCESS) held.delete(Number(fd))
      return errno
    },
    path_remove_directory: refuseOn('path_remove_directory'),
    path_unlink_file: refuseOn('path_unlink_file'),
    path_filestat_set_times: refuseOn('path_filestat_set_times'),
    path_rename: (fd, oldPath, oldLen, newFd, ...rest) =>
      readOnly.has(Number(fd)) || readOnly.has(Number(newFd)) ? ERRNO_ROFS : real.path_rename!(fd, oldPath, oldLen, newFd, ...rest),
    // The shim reports no rights at all, and wasi-libc asks only for rights a directory reports
    // as inheritable: every open would then look read-only and slip past the check in path_open.
    // Reporting every right (as node:wasi does) makes libc say what it means to do.
    fd_fdstat_get: (fd, stat) => {
      const errno = real.fd_fdstat_get!(fd, stat)
      if (errno === ERRNO_SUCCESS) {
        const view = new DataView(wasi.inst.exports.memory.buffer)
        view.setBigUint64(Number(stat) + 8, ALL_RIGHTS, true)
        view.setBigUint64(Number(stat) + 16, ALL_RIGHTS, true)
      }
      return errno
    },
    // A read-only fd renumbered onto another number stays read-only there; `to` was closed.
    fd_renumber: (from, to) => {
      const errno = real.fd_renumber!(from, to)
      if (errno === ERRNO_SUCCESS) {
        if (readOnly.has(Number(from))) readOnly.add(Number(to))
        else readOnly.delete(Number(to))
        held.delete(Number(to))
        if (held.delete(Number(from))) held.add(Number(to))
      }
      return errno
    },
    path_symlink: () => ERRNO_PERM,
    path_link: () => ERRNO_PERM,
    path_open: (fd, dirflags, path, pathLen, oflags, rightsBase, rightsInheriting, fdflags, opened) => {
      if (held.size >= MAX_TASK_FDS) return ERRNO_MFILE
      const inReadOnly = readOnly.has(Number(fd))
      if (inReadOnly && ((Number(oflags) & OFLAGS_WRITING) !== 0 || (BigInt(rightsBase) & RIGHTS_WRITING) !== 0n)) return ERRNO_ROFS
      return openOrCreate(Number(oflags), flags => {
        const errno = real.path_open!(fd, dirflags, path, pathLen, flags, rightsBase, rightsInheriting, fdflags, opened) as number
        if (errno === ERRNO_SUCCESS) {
          const openedFd = new DataView(wasi.inst.exports.memory.buffer).getUint32(Number(opened), true)
          held.add(openedFd)
          if (inReadOnly) readOnly.add(openedFd)
        }
        return errno
      }, chargeEntry)
    },
  }
}

/** /in as a tree of read-only files; names may have folders ("data/a.txt"). */
function inputTree (inputs: WorkerTask['inputs']): Map<string, Inode> {
  const root = new Map<string, Inode>()
  for (const input of inputs) {
    const parts = input.name.split('/')
    let dir = root
    for (const part of parts.slice(0, -1)) {
      let next = dir.get(part)
      if (!(next instanceof Directory)) {
        next = new Directory(new Map())
        dir.set(part, next)
      }
      dir = (next as Directory).contents
    }
    dir.set(parts.at(-1)!, new File(input.bytes, { readonly: true }))
  }
  return root
}

function collect (dir: Map<string, Inode>, prefix: string): Array<{ path: string, bytes: Uint8Array }> {
  return [...dir].flatMap(([name, inode]) => {
    if (inode instanceof Directory) return collect(inode.contents, `${prefix}${name}/`)
    if (inode instanceof File) return [{ path: `${prefix}${name}`, bytes: inode.data.slice() }]
    return []
  })
}
