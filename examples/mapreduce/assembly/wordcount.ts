// Word count as map and reduce tasks, with a shuffle between them.
//
//   wordcount map --partitions R FILE…
//   wordcount reduce --partition r --partitions R FILE…
//
// A word is a maximal run of ASCII letters, folded to lower case; every other byte separates words
// (what `tr -cs A-Za-z '\n' | tr A-Z a-z` makes of a text). A word belongs to partition
// fnv1a32(word) mod R.
//
// Map: streams its files, counts their words, and writes /out/part-<r> for every partition r (each
// possibly empty): one "word<TAB>count\n" line per distinct word of that partition, in no order.
// Reduce: reads map outputs of partition r, sums the counts per word (refusing a line that is not
// "word<TAB>count" or a word of another partition), and writes /out/counts.tsv sorted by word,
// byte by byte (the order of `LC_ALL=C sort`). Each prints one JSON line on stdout: bytes read,
// words, distinct words and the seconds spent.
//
// AssemblyScript, compiled with @assemblyscript/wasi-shim (see scripts/build-examples.ts).

import { fd_read, fd_close, errnoToString, oflags, rights } from "~lib/bindings/wasi_snapshot_preview1";
import { openPath, writeAll } from "../../lib/assembly/wasiFiles";

const USAGE = "usage: wordcount map --partitions R FILE...\n" +
  "       wordcount reduce --partition r --partitions R FILE...";
const MAX_PARTITIONS: i32 = 4096;
const READ_CHUNK: i32 = 1 << 20;
const FNV_OFFSET: u32 = 2166136261;
const FNV_PRIME: u32 = 16777619;
const TAB: u8 = 9;
const NEWLINE: u8 = 10;

function fail(message: string, code: i32 = 2): void {
  process.stderr.write("wordcount: " + message + "\n");
  process.exit(code);
}

// ---- files ----

/** Reads up to `n` bytes into `at`; 0 at the end of the file. */
function readSome(fd: u32, at: usize, n: i32, path: string): i32 {
  const iov = memory.data(16);
  const got = memory.data(8);
  store<usize>(iov, at);
  store<usize>(iov, <usize>n, sizeof<usize>());
  const err = fd_read(fd, iov, 1, got);
  if (err != 0) fail("cannot read " + path + ": " + errnoToString(err), 1);
  return <i32>load<usize>(got);
}

function writeBytes(path: string, at: usize, n: i32): void {
  const fd = openPath(path, oflags.CREAT | oflags.TRUNC, rights.FD_WRITE | rights.FD_SEEK | rights.FD_TELL | rights.FD_FILESTAT_GET, fail);
  const err = writeAll(fd, at, n);
  if (err != 0) fail("cannot write " + path + ": " + errnoToString(err), 1);
  fd_close(fd);
}

// ---- the word table: open addressing, words kept in one growing arena ----

let arena: usize = heap.alloc(1 << 20);
let arenaSize: i32 = 0;
let arenaCapacity: i32 = 1 << 20;
let capacity: i32 = 1 << 16;
let distinct: i32 = 0;
/** Per slot: the word's offset in the arena plus one (0: empty), its length, hash and count. */
let offsets: usize = heap.alloc(<usize>capacity << 2);
let lengths: usize = heap.alloc(<usize>capacity << 2);
let hashes: usize = heap.alloc(<usize>capacity << 2);
let counts: usize = heap.alloc(<usize>capacity << 3);
memory.fill(offsets, 0, <usize>capacity << 2);

/** The slot holding the word at `ptr`, or the empty slot where it belongs. */
// @ts-ignore: decorator
@inline function findSlot(ptr: usize, len: i32, hash: u32): i32 {
  const mask = capacity - 1;
  let slot = <i32>hash & mask;
  let off = load<u32>(offsets + (<usize>slot << 2));
  while (off != 0) {
    if (load<u32>(hashes + (<usize>slot << 2)) == hash && load<i32>(lengths + (<usize>slot << 2)) == len &&
      memory.compare(arena + <usize>(off - 1), ptr, <usize>len) == 0) break;
    slot = (slot + 1) & mask;
    off = load<u32>(offsets + (<usize>slot << 2));
  }
  return slot;
}

function grow(): void {
  const oldCapacity = capacity;
  const oldOffsets = offsets, oldLengths = lengths, oldHashes = hashes, oldCounts = counts;
  capacity <<= 1;
  offsets = heap.alloc(<usize>capacity << 2);
  lengths = heap.alloc(<usize>capacity << 2);
  hashes = heap.alloc(<usize>capacity << 2);
  counts = heap.alloc(<usize>capacity << 3);
  memory.fill(offsets, 0, <usize>capacity << 2);
  const mask = capacity - 1;
  for (let i = 0; i < oldCapacity; i++) {
    const off = load<u32>(oldOffsets + (<usize>i << 2));
    if (off == 0) continue;
    const hash = load<u32>(oldHashes + (<usize>i << 2));
    let slot = <i32>hash & mask;
    while (load<u32>(offsets + (<usize>slot << 2)) != 0) slot = (slot + 1) & mask;
    store<u32>(offsets + (<usize>slot << 2), off);
    store<i32>(lengths + (<usize>slot << 2), load<i32>(oldLengths + (<usize>i << 2)));
    store<u32>(hashes + (<usize>slot << 2), hash);
    store<u64>(counts + (<usize>slot << 3), load<u64>(oldCounts + (<usize>i << 3)));
  }
  heap.free(oldOffsets);
  heap.free(oldLengths);
  heap.free(oldHashes);
  heap.free(oldCounts);
}

/** Adds `count` to the word of `len` bytes at `ptr` (lower-case letters, hashed to `hash`). */
function addWord(ptr: usize, len: i32, hash: u32, count: u64): void {
  const slot = findSlot(ptr, len, hash);
  if (load<u32>(offsets + (<usize>slot << 2)) != 0) {
    const at = counts + (<usize>slot << 3);
    store<u64>(at, load<u64>(at) + count);
    return;
  }
  if (arenaSize + len > arenaCapacity) {
    while (arenaSize + len > arenaCapacity) arenaCapacity <<= 1;
    arena = heap.realloc(arena, <usize>arenaCapacity);
  }
  memory.copy(arena + <usize>arenaSize, ptr, <usize>len);
  store<u32>(offsets + (<usize>slot << 2), <u32>arenaSize + 1);
  store<i32>(lengths + (<usize>slot << 2), len);
  store<u32>(hashes + (<usize>slot << 2), hash);
  store<u64>(counts + (<usize>slot << 3), count);
  arenaSize += len;
  if (++distinct * 2 > capacity) grow();
}

// ---- output lines ----

function digitCount(n: u64): i32 {
  let digits = 1;
  while (n >= 10) { n /= 10; digits++; }
  return digits;
}

/** Writes "word<TAB>count\n" for slot `slot` at `at`; answers the bytes written. */
function writeLine(at: usize, slot: i32): i32 {
  const len = load<i32>(lengths + (<usize>slot << 2));
  memory.copy(at, arena + <usize>(load<u32>(offsets + (<usize>slot << 2)) - 1), <usize>len);
  store<u8>(at + <usize>len, TAB);
  let count = load<u64>(counts + (<usize>slot << 3));
  const digits = digitCount(count);
  for (let d = digits; d > 0; d--) {
    store<u8>(at + <usize>(len + d), <u8>(48 + count % 10));
    count /= 10;
  }
  store<u8>(at + <usize>(len + 1 + digits), NEWLINE);
  return len + digits + 2;
}

function lineLength(slot: i32): i32 {
  return load<i32>(lengths + (<usize>slot << 2)) + digitCount(load<u64>(counts + (<usize>slot << 3))) + 2;
}

function summary(bytes: u64, words: u64, started: f64): void {
  process.stdout.write("{\"bytes\":" + bytes.toString() + ",\"words\":" + words.toString() + ",\"distinct\":" + distinct.toString() +
    ",\"seconds\":" + ((performance.now() - started) / 1000).toString() + "}\n");
}

// ---- map ----

let totalWords: u64 = 0;

/** Counts the words of one file, read in chunks; a word cut by a chunk's end moves to the front. */
function countFile(path: string): u64 {
  const fd = openPath(path, 0, rights.FD_READ | rights.FD_SEEK | rights.FD_TELL | rights.FD_FILESTAT_GET, fail);
  let bufferSize = READ_CHUNK * 2;
  let buffer = heap.alloc(<usize>bufferSize);
  let carried = 0;
  let bytes: u64 = 0;
  for (;;) {
    if (bufferSize - carried < READ_CHUNK) {
      bufferSize <<= 1;
      buffer = heap.realloc(buffer, <usize>bufferSize);
    }
    const n = readSome(fd, buffer + <usize>carried, bufferSize - carried, path);
    bytes += <u64>n;
    const end = carried + n;
    let start = -1;
    let hash = FNV_OFFSET;
    for (let i = 0; i < end; i++) {
      const at = buffer + <usize>i;
      const folded = load<u8>(at) | 0x20;
      if (<u32>(folded - 97) < 26) {
        store<u8>(at, folded);
        if (start < 0) { start = i; hash = FNV_OFFSET; }
        hash = (hash ^ <u32>folded) * FNV_PRIME;
      } else if (start >= 0) {
        addWord(buffer + <usize>start, i - start, hash, 1);
        totalWords++;
        start = -1;
      }
    }
    if (n == 0) {
      if (start >= 0) { addWord(buffer + <usize>start, end - start, hash, 1); totalWords++; }
      break;
    }
    // The word still open may go on in the next chunk: keep it, already folded, for the next pass.
    carried = start < 0 ? 0 : end - start;
    if (carried > 0) memory.copy(buffer, buffer + <usize>start, <usize>carried);
  }
  fd_close(fd);
  heap.free(buffer);
  return bytes;
}

function map(files: string[], partitions: i32): void {
  const started = performance.now();
  let bytes: u64 = 0;
  for (let f = 0; f < files.length; f++) bytes += countFile(files[f]);
  const sizes = new StaticArray<i32>(partitions);
  for (let slot = 0; slot < capacity; slot++) {
    if (load<u32>(offsets + (<usize>slot << 2)) == 0) continue;
    const p = <i32>(load<u32>(hashes + (<usize>slot << 2)) % <u32>partitions);
    sizes[p] += lineLength(slot);
  }
  for (let p = 0; p < partitions; p++) {
    const out = heap.alloc(<usize>max(sizes[p], 1));
    let filled = 0;
    for (let slot = 0; slot < capacity; slot++) {
      if (load<u32>(offsets + (<usize>slot << 2)) == 0 || <i32>(load<u32>(hashes + (<usize>slot << 2)) % <u32>partitions) != p) continue;
      filled += writeLine(out + <usize>filled, slot);
    }
    writeBytes("/out/part-" + p.toString(), out, filled);
    heap.free(out);
  }
  summary(bytes, totalWords, started);
}

// ---- reduce ----

/** Sums the "word<TAB>count" lines of one map output into the table, checking every line. */
function mergeFile(path: string, partition: i32, partitions: i32): u64 {
  const fd = openPath(path, 0, rights.FD_READ | rights.FD_SEEK | rights.FD_TELL | rights.FD_FILESTAT_GET, fail);
  let bufferSize = READ_CHUNK * 2;
  let buffer = heap.alloc(<usize>bufferSize);
  let carried = 0;
  let bytes: u64 = 0;
  let line = 0;
  for (;;) {
    if (bufferSize - carried < READ_CHUNK) {
      bufferSize <<= 1;
      buffer = heap.realloc(buffer, <usize>bufferSize);
    }
    const n = readSome(fd, buffer + <usize>carried, bufferSize - carried, path);
    bytes += <u64>n;
    const end = carried + n;
    let lineStart = 0;
    for (let i = 0; i < end; i++) {
      if (load<u8>(buffer + <usize>i) != NEWLINE) continue;
      line++;
      parseLine(buffer + <usize>lineStart, i - lineStart, partition, partitions, path, line);
      lineStart = i + 1;
    }
    if (n == 0) {
      if (lineStart < end) fail(path + " ends inside line " + (line + 1).toString() + " (no newline)");
      break;
    }
    carried = end - lineStart;
    if (carried > 0) memory.copy(buffer, buffer + <usize>lineStart, <usize>carried);
  }
  fd_close(fd);
  heap.free(buffer);
  return bytes;
}

function parseLine(at: usize, len: i32, partition: i32, partitions: i32, path: string, line: i32): void {
  let hash = FNV_OFFSET;
  let i = 0;
  for (; i < len; i++) {
    const b = load<u8>(at + <usize>i);
    if (<u32>(b - 97) >= 26) break;
    hash = (hash ^ <u32>b) * FNV_PRIME;
  }
  const wordLength = i;
  if (wordLength == 0 || i >= len || load<u8>(at + <usize>i) != TAB || i + 1 == len || len - i - 1 > 19) {
    fail(path + " line " + line.toString() + " is not \"word<TAB>count\" with a word of lower-case letters");
  }
  let count: u64 = 0;
  for (i++; i < len; i++) {
    const digit = <u32>load<u8>(at + <usize>i) - 48;
    if (digit > 9) fail(path + " line " + line.toString() + " has a count that is not a number");
    count = count * 10 + <u64>digit;
  }
  if (<i32>(hash % <u32>partitions) != partition) {
    fail(path + " line " + line.toString() + " holds a word of partition " + (hash % <u32>partitions).toString() + ", not " + partition.toString());
  }
  addWord(at, wordLength, hash, count);
  totalWords += count;
}

/** Orders two slots by their words, byte by byte, a prefix first. */
function compareWords(a: i32, b: i32): i32 {
  const lengthA = load<i32>(lengths + (<usize>a << 2));
  const lengthB = load<i32>(lengths + (<usize>b << 2));
  const order = memory.compare(arena + <usize>(load<u32>(offsets + (<usize>a << 2)) - 1), arena + <usize>(load<u32>(offsets + (<usize>b << 2)) - 1), <usize>min(lengthA, lengthB));
  return order != 0 ? order : lengthA - lengthB;
}

function reduce(files: string[], partition: i32, partitions: i32): void {
  const started = performance.now();
  let bytes: u64 = 0;
  for (let f = 0; f < files.length; f++) bytes += mergeFile(files[f], partition, partitions);
  const order = new Array<i32>(0);
  let size = 0;
  for (let slot = 0; slot < capacity; slot++) {
    if (load<u32>(offsets + (<usize>slot << 2)) == 0) continue;
    order.push(slot);
    size += lineLength(slot);
  }
  order.sort(compareWords);
  const out = heap.alloc(<usize>max(size, 1));
  let filled = 0;
  for (let k = 0; k < order.length; k++) filled += writeLine(out + <usize>filled, order[k]);
  writeBytes("/out/counts.tsv", out, filled);
  summary(bytes, totalWords, started);
}

// ---- main ----

function parseCount(name: string, value: string, least: i32, most: i32): i32 {
  const n = I32.parseInt(value);
  if (value.length == 0 || value.length > 6 || n < least || n > most || n.toString() != value) fail(name + " must be in " + least.toString() + ".." + most.toString() + "\n" + USAGE);
  return n;
}

const argv = process.argv;
if (argv.length < 2 || (argv[1] != "map" && argv[1] != "reduce")) fail("give map or reduce\n" + USAGE);
const mode = argv[1];
let partitions: i32 = 0;
let partition: i32 = -1;
const files = new Array<string>();
for (let i = 2; i < argv.length; i++) {
  const a = argv[i];
  if (!a.startsWith("--")) { files.push(a); continue; }
  if (i + 1 >= argv.length) fail("missing value after " + a + "\n" + USAGE);
  const v = argv[++i];
  if (a == "--partitions") partitions = parseCount(a, v, 1, MAX_PARTITIONS);
  else if (a == "--partition") partition = parseCount(a, v, 0, MAX_PARTITIONS - 1);
  else fail("unknown option " + a + "\n" + USAGE);
}
if (partitions == 0 || files.length == 0) fail("give --partitions and input files\n" + USAGE);
if (mode == "map") {
  if (partition >= 0) fail("--partition is for reduce\n" + USAGE);
  map(files, partitions);
} else {
  if (partition < 0 || partition >= partitions) fail("reduce needs --partition r with 0 <= r < R\n" + USAGE);
  reduce(files, partition, partitions);
}
