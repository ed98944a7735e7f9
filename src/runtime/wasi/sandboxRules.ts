/**
 * Rules every conun WASI sandbox applies the same way, so a task has one outcome wherever it runs:
 * on a node (sandboxImports.ts, runTask.ts) and in a browser provider's worker (src/web/provide).
 */

export const ERRNO_SUCCESS = 0
export const ERRNO_PERM = 63
export const ERRNO_ROFS = 69

/** path_open flags that create or change a file: CREAT | EXCL | TRUNC. */
export const OFLAGS_WRITING = 1 | 4 | 8
/** FD_DATASYNC | FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE: any of these opens a file for writing. */
export const RIGHTS_WRITING = (1n << 0n) | (1n << 6n) | (1n << 8n) | (1n << 22n)

/**
 * A trap or failing exit this close to the cap is taken as the module running out of memory: a
 * failed memory.grow is invisible from outside, but allocators fail within one chunk of the cap.
 */
export function nearMemoryCap (memoryBytes: number, capBytes: number): boolean {
  return capBytes - memoryBytes <= Math.max(capBytes / 8, 2 * 1024 * 1024)
}
