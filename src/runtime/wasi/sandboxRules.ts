/**
 * Rules every conun WASI sandbox applies the same way, so a task has one outcome wherever it runs:
 * on a node (sandboxImports.ts, workerTask.ts) and in a browser provider's worker (src/web/provide).
 */

export const ERRNO_SUCCESS = 0
export const ERRNO_MFILE = 33
const ERRNO_NOENT = 44
export const ERRNO_PERM = 63
export const ERRNO_ROFS = 69

const OFLAGS_CREAT = 1
const OFLAGS_EXCL = 4
/** path_open flags that create or change a file: CREAT | EXCL | TRUNC. */
export const OFLAGS_WRITING = OFLAGS_CREAT | OFLAGS_EXCL | 8

/** Files and folders a task may create in all, as many as a result may carry files. */
export const MAX_TASK_ENTRIES = 4096
/**
 * What each file or folder a task creates costs its output budget: a filesystem block, what a
 * folder takes on disk. Without it, empty folders and files would fill the host's disk and inodes
 * for free.
 */
export const ENTRY_BYTES = 4096
/**
 * fds a task may hold open at once, its preopens included. They are the provider process's own
 * fds: a task holding all of them would leave libp2p, SQLite and the API none.
 */
export const MAX_TASK_FDS = 256
/** FD_DATASYNC | FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE: any of these opens a file for writing. */
export const RIGHTS_WRITING = (1n << 0n) | (1n << 6n) | (1n << 8n) | (1n << 22n)

/**
 * A trap or failing exit this close to the cap is taken as the module running out of memory: a
 * failed memory.grow is invisible from outside, but allocators fail within one chunk of the cap.
 */
export function nearMemoryCap (memoryBytes: number, capBytes: number): boolean {
  return capBytes - memoryBytes <= Math.max(capBytes / 8, 2 * 1024 * 1024)
}

/**
 * path_open, calling `created` only when the open really made a new file: a plain open is tried
 * first, so re-opening an existing file with O_CREAT (fopen "w" or "a") costs nothing.
 */
export function openOrCreate (oflags: number, open: (oflags: number) => number, created: () => void): number {
  const creates = (oflags & OFLAGS_CREAT) !== 0
  if (creates && (oflags & OFLAGS_EXCL) === 0) {
    const errno = open(oflags & ~OFLAGS_CREAT)
    if (errno !== ERRNO_NOENT) return errno
  }
  const errno = open(oflags)
  if (errno === ERRNO_SUCCESS && creates) created()
  return errno
}

/**
 * Checks the `entries`-th file or folder a task creates, with `used` bytes of its `limit` spent
 * before it: the output-limit message when it is one too many, else undefined.
 */
export function entryOverLimit (entries: number, used: number, limit: number): string | undefined {
  if (entries > MAX_TASK_ENTRIES) return `the task created more than ${MAX_TASK_ENTRIES} files and folders`
  if (used + ENTRY_BYTES > limit) return `output exceeded the limit of ${limit} bytes (each file or folder created counts ${ENTRY_BYTES} bytes)`
  return undefined
}
