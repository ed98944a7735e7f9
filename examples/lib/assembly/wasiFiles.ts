// What the example modules share: WASI preview-1 calls on the directories a task sees, /in and /out,
// and reading integer arguments.
// A library, not a module: scripts/build-examples.ts compiles it into the modules that import it.

import {
  fd_prestat_get,
  fd_prestat_dir_name,
  path_open,
  fd_write,
  fd_read,
  fd_close,
  errnoToString,
  oflags,
  rights,
  prestat,
} from "~lib/bindings/wasi_snapshot_preview1";

/** The file descriptor of the preopened directory `want` (e.g. "/in"), or -1. */
function findPreopen(want: string): i32 {
  const buf = memory.data(8);
  for (let fd: u32 = 3; fd < 64; fd++) {
    if (fd_prestat_get(fd, changetype<prestat>(buf)) != 0) break; // EBADF: no more preopens
    if (load<u8>(buf) != 0) continue; // not a directory
    const len = load<u32>(buf, 4);
    const name = new ArrayBuffer(<i32>len);
    if (fd_prestat_dir_name(fd, changetype<usize>(name), len) != 0) continue;
    let dir = String.UTF8.decode(name);
    while (dir.length > 1 && dir.endsWith("/")) dir = dir.substring(0, dir.length - 1);
    if (dir == want || "/" + dir == want) return <i32>fd;
  }
  return -1;
}

/**
 * Opens an absolute path under one of the preopened directories /in or /out. A path that cannot
 * be opened goes to `fail` (the module's: it prints the reason and exits) with exit code 2 for a
 * path outside them, 1 for an error opening it.
 */
export function openPath(path: string, oflag: u16, rights_: u64, fail: (message: string, code: i32) => void): u32 {
  const slash = path.indexOf("/", 1);
  if (!path.startsWith("/") || slash < 0) fail(path + " is not a path inside /in or /out", 2);
  const root = path.substring(0, slash);
  const dir = findPreopen(root);
  if (dir < 0) fail("no preopened directory " + root + " for " + path, 1);
  const rel = String.UTF8.encode(path.substring(slash + 1));
  const fdOut = memory.data(8);
  const err = path_open(<u32>dir, 0, changetype<usize>(rel), <usize>rel.byteLength, oflag, rights_, 0, 0, fdOut);
  if (err != 0) fail("cannot open " + path + ": " + errnoToString(err), 1);
  return load<u32>(fdOut);
}

/** Writes the `n` bytes at `at` to `fd`, retrying short writes. Returns a WASI errno. */
export function writeAll(fd: u32, at: usize, n: i32): u16 {
  const iov = memory.data(16);
  const written = memory.data(8);
  let off = 0;
  while (off < n) {
    store<usize>(iov, at + <usize>off);
    store<usize>(iov, <usize>(n - off), sizeof<usize>());
    const err = fd_write(fd, iov, 1, written);
    if (err != 0) return err;
    const w = <i32>load<usize>(written);
    if (w == 0) return 29; // EIO: no progress
    off += w;
  }
  return 0;
}

/** The whole content of the file at `path` (under /in); errors go to `fail` with exit code 1. */
export function readWholeFile(path: string, fail: (message: string, code: i32) => void): Uint8Array {
  const fd = openPath(path, 0, rights.FD_READ | rights.FD_SEEK | rights.FD_TELL | rights.FD_FILESTAT_GET, fail);
  let data = new Uint8Array(1 << 16);
  let size = 0;
  const iov = memory.data(16);
  const got = memory.data(8);
  for (;;) {
    if (size == data.length) {
      const bigger = new Uint8Array(data.length * 2);
      bigger.set(data);
      data = bigger;
    }
    store<usize>(iov, data.dataStart + <usize>size);
    store<usize>(iov, <usize>(data.length - size), sizeof<usize>());
    const err = fd_read(fd, iov, 1, got);
    if (err != 0) fail("cannot read " + path + ": " + errnoToString(err), 1);
    const n = <i32>load<usize>(got);
    if (n == 0) break;
    size += n;
  }
  fd_close(fd);
  return data.slice(0, size);
}

/** Creates (or truncates) the file at `path` (under /out) and writes all of `data` to it; errors go to `fail` with exit code 1. */
export function writeFile(path: string, data: Uint8Array, fail: (message: string, code: i32) => void): void {
  const fd = openPath(path, oflags.CREAT | oflags.TRUNC, rights.FD_WRITE | rights.FD_SEEK | rights.FD_TELL | rights.FD_FILESTAT_GET, fail);
  let err = writeAll(fd, data.dataStart, data.length);
  if (err != 0) fail("cannot write " + path + ": " + errnoToString(err), 1);
  err = fd_close(fd);
  if (err != 0) fail("cannot close " + path + ": " + errnoToString(err), 1);
}

/** Parses a decimal integer in [min, max] (up to 18 digits); anything else goes to `fail` as a usage error (exit code 2). */
export function parseIntArg(name: string, text: string, min: i64, max: i64, fail: (message: string, code: i32) => void): i64 {
  if (text.length == 0 || text.length > 18) fail(name + " must be an integer, got \"" + text + "\"", 2);
  let v: i64 = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) fail(name + " must be an integer, got \"" + text + "\"", 2);
    v = v * 10 + (c - 48);
  }
  if (v < min || v > max) fail(name + " must be in " + min.toString() + ".." + max.toString() + ", got " + text, 2);
  return v;
}
