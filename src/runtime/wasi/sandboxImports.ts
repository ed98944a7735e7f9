/**
 * A shim between the module and node:wasi's `wasiImport`. uvwasi alone would let a module running
 * as root write to /in (chmod does not stop root, and /in holds hard links to cached inputs), make
 * links that escape, close the worker's real stdio, fill the disk with bytes or empty entries, or
 * hold every fd of the process; the shim closes those gaps and captures stdout/stderr/stdin in memory.
 */
import { TaskFailure } from './errors.ts'
import {
  ENTRY_BYTES,
  entryOverLimit,
  ERRNO_MFILE,
  ERRNO_PERM,
  ERRNO_ROFS,
  ERRNO_SUCCESS,
  MAX_TASK_FDS,
  OFLAGS_WRITING,
  openOrCreate,
  RIGHTS_WRITING,
} from './sandboxRules.ts'
import type { WasmMemory } from './webAssembly.ts'

/** The shape of a preview-1 call as JS sees it: i32 → number, i64 → bigint, errno back. */
export type WasiFunction = (...args: (number | bigint)[]) => number

export interface SandboxOptions {
  readonly wasiImport: Readonly<Record<string, WasiFunction>>
  readonly stdin: Uint8Array
  readonly stdout: SharedArrayBuffer
  readonly stderr: SharedArrayBuffer
  /** Shared budget for stdout + stderr + bytes written to files + ENTRY_BYTES per file or folder created. */
  readonly outputBytes: number
  /** Preopened directories (the module may close them; they are then gone). */
  readonly preopenFds: readonly number[]
  /** The preopen whose whole tree is read-only. */
  readonly readOnlyFd: number
}

export type Halt =
  | { readonly kind: 'exit', readonly code: number }
  | { readonly kind: 'failed', readonly failure: TaskFailure }

export interface Sandbox {
  readonly imports: Readonly<Record<string, WasiFunction>>
  /** Must be called before the module runs: the shim reads and writes buffers in its memory. */
  attach(memory: WasmMemory): void
  /** Set when the module stopped inside a call: proc_exit, or a limit the shim enforced. */
  halt(): Halt | undefined
  /** Closes every fd the module still holds, preopens included: uvwasi never closes them itself. */
  closeOpenFds(): void
}

const ERRNO_BADF = 8
const ERRNO_FAULT = 21
const ERRNO_NOTSUP = 58
const ERRNO_SPIPE = 70

// poll_oneoff layouts (witx): subscription { userdata u64, tag u8 @8, clock { id u32 @16,
// timeout u64 @24, precision u64 @32, flags u16 @40 } }; event { userdata u64, error u16, type u8 } in 32 bytes.
const SUBSCRIPTION_BYTES = 48
const EVENT_BYTES = 32
const EVENTTYPE_CLOCK = 0
const SUBSCRIPTION_CLOCK_ABSTIME = 1
const CLOCK_REALTIME = 0
const CLOCK_MONOTONIC = 1
/** Atomics.wait on a value nobody changes: a sleep that terminating the worker interrupts. */
const sleeper = new Int32Array(new SharedArrayBuffer(4))

const STDIN = 0
const STDOUT = 1
const STDERR = 2

export function createSandbox(options: SandboxOptions): Sandbox {
  const real = options.wasiImport
  const limit = options.outputBytes
  let memory: WasmMemory | undefined
  let halted: Halt | undefined
  let used = 0
  let entries = 0
  let stdinAt = 0
  const closedStdio = new Set<number>()
  const openFds = new Set(options.preopenFds)
  const readOnlyFds = new Set([options.readOnlyFd])

  const buffer = (): ArrayBufferLike => {
    if (!memory) throw new TaskFailure('invalid-module', 'the module made a WASI call before _start (from its start function)')
    return memory.buffer
  }

  const stop = (halt: Halt): never => {
    halted = halt
    throw halt
  }

  const outputLimit = (message: string): never => stop({ kind: 'failed', failure: new TaskFailure('output-limit', message) })
  const overLimit = (): never => outputLimit(`output exceeded the limit of ${limit} bytes`)

  /** Reserves budget for file bytes; stops the module when a write would pass the limit. */
  const reserve = (bytes: number): void => {
    if (used + bytes > limit) overLimit()
    used += bytes
  }

  /** Counts a file or folder the module has just created: past the entry cap or the budget, it stops. */
  const chargeEntry = (): void => {
    const over = entryOverLimit(++entries, used, limit)
    if (over !== undefined) outputLimit(over)
    used += ENTRY_BYTES
  }

  /** The iovec array's buffers as views into memory, or an errno when it points outside memory. */
  const iovecs = (iovs: number, count: number): Uint8Array[] | number => {
    const mem = buffer()
    if (iovs + count * 8 > mem.byteLength) return ERRNO_FAULT
    const view = new DataView(mem)
    const chunks: Uint8Array[] = []
    for (let i = 0; i < count; i++) {
      const ptr = view.getUint32(iovs + i * 8, true)
      const len = view.getUint32(iovs + i * 8 + 4, true)
      if (ptr + len > mem.byteLength) return ERRNO_FAULT
      chunks.push(new Uint8Array(mem, ptr, len))
    }
    return chunks
  }

  const setU32 = (ptr: number, value: number): number => {
    const mem = buffer()
    if (ptr + 4 > mem.byteLength) return ERRNO_FAULT
    new DataView(mem).setUint32(ptr, value, true)
    return ERRNO_SUCCESS
  }

  const capture = (target: SharedArrayBuffer, iovs: number, count: number, nwritten: number): number => {
    const chunks = iovecs(iovs, count)
    if (typeof chunks === 'number') return chunks
    let total = 0
    for (const chunk of chunks) {
      const room = Math.min(limit - used, target.maxByteLength - target.byteLength)
      const take = Math.min(chunk.length, room)
      if (take > 0) {
        const at = target.byteLength
        target.grow(at + take)
        new Uint8Array(target, at, take).set(chunk.subarray(0, take))
        used += take
      }
      if (take < chunk.length) overLimit()
      total += take
    }
    return setU32(nwritten, total)
  }

  const readStdin = (iovs: number, count: number, nread: number): number => {
    const chunks = iovecs(iovs, count)
    if (typeof chunks === 'number') return chunks
    let total = 0
    for (const chunk of chunks) {
      const take = Math.min(chunk.length, options.stdin.length - stdinAt)
      chunk.set(options.stdin.subarray(stdinAt, stdinAt + take))
      stdinAt += take
      total += take
      if (take < chunk.length) break
    }
    return setU32(nread, total)
  }

  const iovecBytes = (iovs: number, count: number): number | undefined => {
    const chunks = iovecs(iovs, count)
    return typeof chunks === 'number' ? undefined : chunks.reduce((n, c) => n + c.length, 0)
  }

  const isStdio = (fd: number): boolean => fd === STDIN || fd === STDOUT || fd === STDERR

  const overrides: Record<string, WasiFunction> = {
    proc_exit: (code) => stop({ kind: 'exit', code: Number(code) >>> 0 }),

    fd_write: (fd, iovs, count, nwritten) => {
      const [f, i, c, n] = [Number(fd), u32(iovs), u32(count), u32(nwritten)]
      if (f === STDOUT || f === STDERR) {
        return closedStdio.has(f) ? ERRNO_BADF : capture(f === STDOUT ? options.stdout : options.stderr, i, c, n)
      }
      if (f === STDIN) return ERRNO_BADF
      if (readOnlyFds.has(f)) return ERRNO_ROFS
      reserve(iovecBytes(i, c) ?? 0)
      return call('fd_write', fd, iovs, count, nwritten)
    },
    fd_pwrite: (fd, iovs, count, offset, nwritten) => {
      const f = Number(fd)
      if (isStdio(f)) return ERRNO_SPIPE
      if (readOnlyFds.has(f)) return ERRNO_ROFS
      reserve(iovecBytes(u32(iovs), u32(count)) ?? 0)
      return call('fd_pwrite', fd, iovs, count, offset, nwritten)
    },
    fd_read: (fd, iovs, count, nread) => {
      if (Number(fd) !== STDIN) return call('fd_read', fd, iovs, count, nread)
      return closedStdio.has(STDIN) ? ERRNO_BADF : readStdin(u32(iovs), u32(count), u32(nread))
    },
    fd_pread: (fd, ...rest) => (isStdio(Number(fd)) ? ERRNO_SPIPE : call('fd_pread', fd, ...rest)),

    // uvwasi would close the host fd behind 0/1/2; pretend instead, so the fd number is never reused.
    fd_close: (fd) => {
      const f = Number(fd)
      if (isStdio(f)) {
        closedStdio.add(f)
        return ERRNO_SUCCESS
      }
      const errno = call('fd_close', fd)
      if (errno === ERRNO_SUCCESS) forget(f)
      return errno
    },
    fd_renumber: (from, to) => {
      const [f, t] = [Number(from), Number(to)]
      if (isStdio(f) || isStdio(t)) return ERRNO_NOTSUP
      const errno = call('fd_renumber', from, to)
      if (errno === ERRNO_SUCCESS) {
        const readOnly = readOnlyFds.has(f)
        forget(f)
        forget(t)
        track(t, readOnly)
      }
      return errno
    },

    fd_allocate: (fd, offset, len) => {
      if (readOnlyFds.has(Number(fd))) return ERRNO_ROFS
      if (BigInt(offset) + BigInt(len) > BigInt(limit)) overLimit()
      return call('fd_allocate', fd, offset, len)
    },
    fd_filestat_set_size: (fd, size) => {
      if (readOnlyFds.has(Number(fd))) return ERRNO_ROFS
      if (BigInt(size) > BigInt(limit)) overLimit()
      return call('fd_filestat_set_size', fd, size)
    },
    fd_filestat_set_times: (fd, ...rest) => (readOnlyFds.has(Number(fd)) ? ERRNO_ROFS : call('fd_filestat_set_times', fd, ...rest)),

    path_open: (fd, dirflags, path, pathLen, oflags, rightsBase, rightsInheriting, fdflags, opened) => {
      // What a process gets at its RLIMIT_NOFILE: the task goes on, with the fds it holds.
      if (openFds.size >= MAX_TASK_FDS) return ERRNO_MFILE
      const readOnly = readOnlyFds.has(Number(fd))
      if (readOnly && ((Number(oflags) & OFLAGS_WRITING) !== 0 || (BigInt(rightsBase) & RIGHTS_WRITING) !== 0n)) {
        return ERRNO_ROFS
      }
      return openOrCreate(Number(oflags), (flags) => {
        const errno = call('path_open', fd, dirflags, path, pathLen, flags, rightsBase, rightsInheriting, fdflags, opened)
        if (errno === ERRNO_SUCCESS) track(new DataView(buffer()).getUint32(u32(opened), true), readOnly)
        return errno
      }, chargeEntry)
    },
    path_create_directory: (fd, ...rest) => {
      if (readOnlyFds.has(Number(fd))) return ERRNO_ROFS
      const errno = call('path_create_directory', fd, ...rest)
      if (errno === ERRNO_SUCCESS) chargeEntry()
      return errno
    },
    path_remove_directory: (fd, ...rest) => (readOnlyFds.has(Number(fd)) ? ERRNO_ROFS : call('path_remove_directory', fd, ...rest)),
    path_unlink_file: (fd, ...rest) => (readOnlyFds.has(Number(fd)) ? ERRNO_ROFS : call('path_unlink_file', fd, ...rest)),
    path_filestat_set_times: (fd, ...rest) => (readOnlyFds.has(Number(fd)) ? ERRNO_ROFS : call('path_filestat_set_times', fd, ...rest)),
    path_rename: (fd, oldPath, oldLen, newFd, newPath, newLen) =>
      readOnlyFds.has(Number(fd)) || readOnlyFds.has(Number(newFd))
        ? ERRNO_ROFS
        : call('path_rename', fd, oldPath, oldLen, newFd, newPath, newLen),
    // A symlink or hard link in /out could point at host files or at the cached bytes behind /in.
    path_symlink: () => ERRNO_PERM,
    path_link: () => ERRNO_PERM,

    // uvwasi sleeps in native code, where terminating the worker cannot reach it: a module calling
    // sleep() would outlive its timeout. Clock-only polls (what sleep() is) wait here instead.
    poll_oneoff: (subscriptions, events, count, nevents) => {
      const [subs, evs, n] = [u32(subscriptions), u32(events), u32(count)]
      const waits = clockWaits(subs, n)
      if (!waits) return call('poll_oneoff', subscriptions, events, count, nevents)
      const mem = buffer()
      if (evs + n * EVENT_BYTES > mem.byteLength) return ERRNO_FAULT
      const shortest = waits.reduce((a, b) => (b < a ? b : a))
      if (shortest > 0n) Atomics.wait(sleeper, 0, 0, Number(shortest) / 1e6)
      const view = new DataView(buffer())
      let fired = 0
      waits.forEach((wait, i) => {
        if (wait > shortest) return
        const at = evs + fired * EVENT_BYTES
        new Uint8Array(view.buffer, at, EVENT_BYTES).fill(0) // error 0, type CLOCK
        view.setBigUint64(at, view.getBigUint64(subs + i * SUBSCRIPTION_BYTES, true), true)
        fired++
      })
      return setU32(u32(nevents), fired)
    },
  }

  /** How long each subscription waits, in ns, when all of them are clocks we can read; else undefined. */
  function clockWaits(subs: number, count: number): bigint[] | undefined {
    const mem = buffer()
    if (count === 0 || subs + count * SUBSCRIPTION_BYTES > mem.byteLength) return undefined
    const view = new DataView(mem)
    const waits: bigint[] = []
    for (let i = 0; i < count; i++) {
      const at = subs + i * SUBSCRIPTION_BYTES
      if (view.getUint8(at + 8) !== EVENTTYPE_CLOCK) return undefined
      const timeout = view.getBigUint64(at + 24, true)
      if ((view.getUint16(at + 40, true) & SUBSCRIPTION_CLOCK_ABSTIME) === 0) {
        waits.push(timeout)
        continue
      }
      const now = clockNow(view.getUint32(at + 16, true))
      if (now === undefined) return undefined
      waits.push(timeout > now ? timeout - now : 0n)
    }
    return waits
  }

  function call(name: string, ...args: (number | bigint)[]): number {
    const fn = real[name]
    if (!fn) throw new TaskFailure('internal', `node:wasi has no ${name}`)
    return fn(...args)
  }

  function track(fd: number, readOnly: boolean): void {
    openFds.add(fd)
    if (readOnly) readOnlyFds.add(fd)
  }

  function forget(fd: number): void {
    openFds.delete(fd)
    readOnlyFds.delete(fd)
  }

  // Once halted, every further call halts again, even if the module caught the first throw.
  const imports: Record<string, WasiFunction> = {}
  for (const name of Object.keys(real)) {
    const fn = overrides[name] ?? ((...args: (number | bigint)[]) => call(name, ...args))
    imports[name] = (...args) => {
      if (halted) throw halted
      return fn(...args)
    }
  }

  return {
    imports,
    attach: (m) => { memory = m },
    halt: () => halted,
    closeOpenFds: () => {
      for (const fd of openFds) call('fd_close', fd)
      openFds.clear()
    },
  }
}

/** Now on a WASI clock in ns, for the clocks whose origin we share with uvwasi. */
function clockNow(id: number): bigint | undefined {
  if (id === CLOCK_MONOTONIC) return process.hrtime.bigint()
  if (id === CLOCK_REALTIME) return BigInt(Date.now()) * 1_000_000n
  return undefined
}

/** i32 arguments arrive signed; pointers and lengths are unsigned. */
function u32(value: number | bigint): number {
  return Number(value) >>> 0
}
