// Smith-Waterman local alignment search: every query against every sequence of one database shard.
//
//   swsearch --matrix /in/M --queries /in/Q.fa --db /in/S.fa --top K [--gap-open 10] [--gap-extend 0.5] [--scalar]
//   swsearch --merge --top K FILE…
//
// Search: scores every query × subject pair with affine gaps (Gotoh) and the substitution matrix M
// (EMBOSS/NCBI text format, e.g. EMBOSS's EBLOSUM62), and writes the K best subjects per query to
// /out/hits.jsonl, one JSON object a line. A gap of length n costs open + (n − 1) × extend, the
// convention of EMBOSS water, whose defaults for proteins are 10 and 0.5. Penalties must be
// multiples of 0.5: scores are kept in half units as integers, so they are exact. On stdout, one
// JSON line: pairs, cells (query length × subject length, summed) and the seconds spent aligning.
// Pairs are scored by Farrar's striped SIMD kernel (eight i16 lanes); the scalar kernel scores
// the pairs whose scores an i16 may not hold, and every pair with --scalar (the tests compare them).
//
// Merge (the reduce): reads hits files written by searches of the same queries against different
// shards and writes the K best hits per query over all of them to /out/hits.jsonl. Hits are ordered
// by score (high first), then subject id and length, so the merged top K equal one search of the
// whole database. Letters the matrix lacks score 0, and a pair with no alignment above 0 gets the
// score of its best single residue pair: both as in water.
//
// AssemblyScript, compiled with @assemblyscript/wasi-shim (see scripts/build-examples.ts).

import { readWholeFile, writeFile } from "../../lib/assembly/wasiFiles";

const USAGE = "usage: swsearch --matrix FILE --queries FILE --db FILE --top K [--gap-open P] [--gap-extend P] [--scalar]\n" +
  "       swsearch --merge --top K FILE...";
/** Stands for minus infinity in the recurrences; far below any score, far from overflow. */
const NEG_INF: i32 = -(1 << 29);
const MAX_TOP: i32 = 100000;
const MAX_PENALTY: i32 = 1000;
/** Bounds the scores a merge accepts, far inside i32. */
const MAX_SCORE: i32 = 1 << 27;

function fail(message: string, code: i32 = 2): void {
  process.stderr.write("swsearch: " + message + "\n");
  process.exit(code);
}

// ---- files ----

function writeText(path: string, text: string): void {
  writeFile(path, Uint8Array.wrap(String.UTF8.encode(text)), fail);
}

// ---- the substitution matrix ----

/**
 * A square matrix over the residue letters of its header. Letters it lacks score 0 against
 * everything, as in EMBOSS (its residue code 0): they get the extra last index, a row of zeros.
 */
class Matrix {
  /** Letter (A–Z, '*') → index; letters not in the header get `size`. */
  index: StaticArray<i32> = new StaticArray<i32>(128);
  /** Letters in the header. */
  size: i32 = 0;
  /** Scores in half units, (size + 1) × (size + 1). */
  scores: StaticArray<i32> = new StaticArray<i32>(0);

  /** Residue codes: 0 .. size. */
  get codes(): i32 {
    return this.size + 1;
  }

  code(c: i32): i32 {
    if (c >= 97 && c <= 122) c -= 32;
    return c < 128 ? unchecked(this.index[c]) : this.size;
  }

  score(a: i32, b: i32): i32 {
    return this.scores[a * this.codes + b];
  }
}

function isSpace(c: i32): bool {
  return c == 32 || c == 9 || c == 13 || c == 10;
}

function splitWords(line: string): string[] {
  const words = new Array<string>();
  let i = 0;
  while (i < line.length) {
    while (i < line.length && isSpace(line.charCodeAt(i))) i++;
    const start = i;
    while (i < line.length && !isSpace(line.charCodeAt(i))) i++;
    if (i > start) words.push(line.substring(start, i));
  }
  return words;
}

function parseMatrix(path: string): Matrix {
  const m = new Matrix();
  const lines = String.UTF8.decode(readWholeFile(path, fail).buffer).split("\n");
  let header: string[] | null = null;
  let row = 0;
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l];
    if (line.startsWith("#")) continue;
    const words = splitWords(line);
    if (words.length == 0) continue;
    if (header == null) {
      header = words;
      m.size = words.length;
      m.scores = new StaticArray<i32>(m.codes * m.codes);
      for (let c = 0; c < 128; c++) m.index[c] = m.size;
      for (let i = 0; i < words.length; i++) {
        if (words[i].length != 1 || words[i].charCodeAt(0) >= 128) fail(path + ": header entry \"" + words[i] + "\" is not one letter");
        m.index[words[i].charCodeAt(0)] = i;
      }
      continue;
    }
    if (row >= m.size) fail(path + ": more rows than the " + m.size.toString() + " header letters");
    if (words.length != m.size + 1 || words[0] != header[row]) fail(path + ": row " + (row + 1).toString() + " is not \"" + header[row] + "\" and " + m.size.toString() + " scores");
    for (let i = 0; i < m.size; i++) m.scores[row * m.codes + i] = 2 * parseInteger(path + " score", words[i + 1]);
    row++;
  }
  if (header == null || row != m.size) fail(path + ": expected a header and " + m.size.toString() + " rows, found " + row.toString());
  return m;
}

// ---- numbers ----

function parseInteger(name: string, text: string): i32 {
  let i = 0;
  let negative = false;
  if (text.startsWith("-")) { negative = true; i = 1; }
  if (text.length == i || text.length > 9) fail(name + " must be an integer, got \"" + text + "\"");
  let v = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) fail(name + " must be an integer, got \"" + text + "\"");
    v = v * 10 + (c - 48);
  }
  return negative ? -v : v;
}

/** A number such as "10", "0.5" or "-1.5" in half units: only multiples of 0.5 in min..max. */
function parseHalves(name: string, text: string, min: i32, max: i32): i32 {
  const negative = text.startsWith("-");
  const digits = negative ? text.substring(1) : text;
  const dot = digits.indexOf(".");
  const whole = dot < 0 ? digits : digits.substring(0, dot);
  const frac = dot < 0 ? "" : digits.substring(dot + 1);
  if (whole.startsWith("-")) fail(name + " must be a number, got " + text);
  let halves = 2 * parseInteger(name, whole);
  if (frac.length > 0) {
    let rest = frac;
    while (rest.length > 1 && rest.endsWith("0")) rest = rest.substring(0, rest.length - 1);
    if (rest == "5") halves += 1;
    else if (rest != "0") fail(name + " must be a multiple of 0.5, got " + text);
  }
  if (negative) halves = -halves;
  if (halves < 2 * min || halves > 2 * max) fail(name + " must be in " + min.toString() + ".." + max.toString() + ", got " + text);
  return halves;
}

/** Half units as a decimal: 23 → "11.5", -3 → "-1.5". */
function halvesToString(h: i32): string {
  const a = abs(h);
  return (h < 0 ? "-" : "") + (a >> 1).toString() + ((a & 1) != 0 ? ".5" : ".0");
}

// ---- FASTA ----

class Sequence {
  constructor(public id: string, public residues: Uint8Array) {}
}

/** Sequences from FASTA text: the id is the header's first word; residues are the letters (and '*'), as codes. */
function parseFasta(path: string, matrix: Matrix): Sequence[] {
  const data = readWholeFile(path, fail);
  const out = new Array<Sequence>();
  let i = 0;
  const n = data.length;
  while (i < n && isSpace(data[i])) i++;
  if (i < n && data[i] != 62) fail(path + " is not FASTA: it does not start with '>'");
  while (i < n) {
    i++; // '>'
    const start = i;
    while (i < n && data[i] != 10) i++;
    const header = String.UTF8.decode(data.subarray(start, i).slice().buffer);
    const words = splitWords(header);
    if (words.length == 0) fail(path + ": a header has no id");
    let end = i;
    while (end < n && data[end] != 62) end++;
    const residues = new Uint8Array(end - i);
    let len = 0;
    while (i < end) {
      const c = <i32>data[i++];
      if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 42) {
        residues[len++] = <u8>matrix.code(c);
      }
    }
    if (len == 0) fail(path + ": " + words[0] + " has no residues");
    out.push(new Sequence(words[0], residues.slice(0, len)));
  }
  return out;
}

// ---- the aligner ----

/**
 * The best local alignment score of `query` (as a profile: profile[r * qlen + i] is the score of
 * query residue i against residue r) and `subject`, in half units. Gotoh's recurrences over one
 * column of the query at a time: H the best score ending at (i, j), E ending in a gap in the query
 * (a run along the subject), F ending in a gap in the subject.
 */
function align(profile: StaticArray<i32>, qlen: i32, subject: Uint8Array, open: i32, extend: i32, h: StaticArray<i32>, e: StaticArray<i32>): i32 {
  for (let i = 0; i < qlen; i++) {
    unchecked(h[i] = 0);
    unchecked(e[i] = NEG_INF);
  }
  let best = 0;
  for (let j = 0; j < subject.length; j++) {
    const row = <i32>unchecked(subject[j]) * qlen;
    let f = NEG_INF;
    let diag = 0; // H[i-1][j-1]
    let up = 0; // H[i-1][j]
    for (let i = 0; i < qlen; i++) {
      const left = unchecked(h[i]); // H[i][j-1]
      const ei = max(unchecked(e[i]) - extend, left - open);
      f = max(f - extend, up - open);
      let s = diag + unchecked(profile[row + i]);
      s = max(max(s, 0), max(ei, f));
      unchecked(e[i] = ei);
      unchecked(h[i] = s);
      diag = left;
      up = s;
      best = max(best, s);
    }
  }
  return best > 0 ? best : bestPair(profile, qlen, subject);
}

/**
 * The best score of one residue pair. When nothing aligns above zero, water reports the best
 * (negative) single pair rather than an empty alignment scoring 0; so does this search.
 */
function bestPair(profile: StaticArray<i32>, qlen: i32, subject: Uint8Array): i32 {
  let best = NEG_INF;
  for (let j = 0; j < subject.length; j++) {
    const row = <i32>unchecked(subject[j]) * qlen;
    for (let i = 0; i < qlen; i++) best = max(best, unchecked(profile[row + i]));
  }
  return best;
}

// ---- the SIMD kernel ----

/** i16 lanes hold scores up to this; a pair that may reach it is scored again by the scalar kernel. */
const I16_MAX: i32 = 32767;
/** The score of query positions past the end in the last segment: never part of a best alignment. */
const PAD: i16 = -4096;

/**
 * The query striped for Farrar's SIMD Smith-Waterman (Bioinformatics 23:156, 2007): eight i16
 * lanes, lane k of segment s standing for query position k × segLen + s, so that a column's
 * dependencies between positions fall between segments, not between lanes.
 */
class StripedProfile {
  segLen: i32;
  /** Scores in half units by residue code: codes × segLen vectors. */
  scores: StaticArray<i16>;
  /** Scores that may have saturated an i16 lane start here. */
  overflowAt: i32;

  constructor(matrix: Matrix, query: Uint8Array) {
    const qlen = query.length;
    const segLen = (qlen + 7) >> 3;
    const scores = new StaticArray<i16>(matrix.codes * segLen * 8);
    let top = 0;
    for (let r = 0; r < matrix.codes; r++) {
      for (let seg = 0; seg < segLen; seg++) {
        for (let k = 0; k < 8; k++) {
          const i = k * segLen + seg;
          const score = i < qlen ? matrix.score(r, <i32>query[i]) : <i32>PAD;
          top = max(top, score);
          scores[(r * segLen + seg) * 8 + k] = <i16>score;
        }
      }
    }
    this.segLen = segLen;
    this.scores = scores;
    this.overflowAt = I16_MAX - top;
  }
}

/** Lanes move up one (lane k gets lane k − 1), lane 0 gets 0: the striped layout's next position. */
// @ts-ignore: decorator
@inline
function shiftLanes(v: v128): v128 {
  return i16x8.shuffle(v, i16x8.splat(0), 8, 0, 1, 2, 3, 4, 5, 6);
}

/**
 * The same recurrences as `align`, eight query positions at a time. Values at or below 0 never
 * matter in a local alignment, so 0 stands for minus infinity. After each column, Farrar's "lazy F"
 * loop carries vertical gaps across segment boundaries, updating H (and E from it) where they win.
 * Returns -1 when the score may have saturated an i16 lane, or reached 0 (see bestPair).
 */
function alignStriped(p: StripedProfile, subject: Uint8Array, open: i32, extend: i32, hA: StaticArray<i16>, hB: StaticArray<i16>, e: StaticArray<i16>): i32 {
  const segLen = p.segLen;
  const bytes = <usize>segLen << 4;
  const zero = i16x8.splat(0);
  const vOpen = i16x8.splat(<i16>open);
  const vExtend = i16x8.splat(<i16>extend);
  let hLoad = changetype<usize>(hA);
  let hStore = changetype<usize>(hB);
  const ePtr = changetype<usize>(e);
  memory.fill(hLoad, 0, bytes);
  memory.fill(ePtr, 0, bytes);
  const profile = changetype<usize>(p.scores);
  let vMax = zero;
  for (let j = 0; j < subject.length; j++) {
    const row = profile + ((<usize>unchecked(subject[j]) * <usize>segLen) << 4);
    let vF = zero;
    let vH = shiftLanes(v128.load(hLoad + bytes - 16));
    for (let seg: usize = 0; seg < bytes; seg += 16) {
      vH = i16x8.add_sat_s(vH, v128.load(row + seg));
      let vE = v128.load(ePtr + seg);
      vH = i16x8.max_s(i16x8.max_s(vH, zero), i16x8.max_s(vE, vF));
      vMax = i16x8.max_s(vMax, vH);
      v128.store(hStore + seg, vH);
      const vGap = i16x8.sub_sat_s(vH, vOpen);
      v128.store(ePtr + seg, i16x8.max_s(i16x8.sub_sat_s(vE, vExtend), vGap));
      vF = i16x8.max_s(i16x8.sub_sat_s(vF, vExtend), vGap);
      vH = v128.load(hLoad + seg);
    }
    // Lazy F: go on while some vertical gap would raise H, or the gap chain below it.
    vF = shiftLanes(vF);
    let seg: usize = 0;
    for (;;) {
      let vHs = v128.load(hStore + seg);
      if (!v128.any_true(i16x8.gt_s(vF, i16x8.max_s(i16x8.sub_sat_s(vHs, vOpen), zero)))) break;
      vHs = i16x8.max_s(vHs, vF);
      v128.store(hStore + seg, vHs);
      vMax = i16x8.max_s(vMax, vHs);
      v128.store(ePtr + seg, i16x8.max_s(v128.load(ePtr + seg), i16x8.sub_sat_s(vHs, vOpen)));
      vF = i16x8.sub_sat_s(vF, vExtend);
      seg += 16;
      if (seg == bytes) {
        seg = 0;
        vF = shiftLanes(vF);
      }
    }
    const swap = hLoad;
    hLoad = hStore;
    hStore = swap;
  }
  let best = <i32>i16x8.extract_lane_s(vMax, 0);
  best = max(best, <i32>i16x8.extract_lane_s(vMax, 1));
  best = max(best, <i32>i16x8.extract_lane_s(vMax, 2));
  best = max(best, <i32>i16x8.extract_lane_s(vMax, 3));
  best = max(best, <i32>i16x8.extract_lane_s(vMax, 4));
  best = max(best, <i32>i16x8.extract_lane_s(vMax, 5));
  best = max(best, <i32>i16x8.extract_lane_s(vMax, 6));
  best = max(best, <i32>i16x8.extract_lane_s(vMax, 7));
  return best > 0 && best < p.overflowAt ? best : -1;
}

function jsonString(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c < 32) out += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

class Hit {
  /** The JSON line; a search fills it in for the hits it keeps. */
  line: string = "";
  constructor(public subject: string, public score: i32, public subjectLength: i32) {}
}

/**
 * Best first: higher score, then subject id, then subject length. Search and merge order hits the
 * same way, so the best K of merged shards are the best K of one search of them all.
 */
function compareHits(a: Hit, b: Hit): i32 {
  if (a.score != b.score) return a.score > b.score ? -1 : 1;
  if (a.subject != b.subject) return a.subject < b.subject ? -1 : 1;
  return a.subjectLength - b.subjectLength;
}

/** Sorts the hits and keeps the best `top`. */
function best(hits: Hit[], top: i32): Hit[] {
  hits.sort(compareHits);
  return hits.slice(0, top);
}

function search(matrixPath: string, queriesPath: string, dbPath: string, top: i32, open: i32, extend: i32, scalarOnly: bool): void {
  const matrix = parseMatrix(matrixPath);
  const queries = parseFasta(queriesPath, matrix);
  const subjects = parseFasta(dbPath, matrix);
  let maxLen = 0;
  for (let q = 0; q < queries.length; q++) maxLen = max(maxLen, queries[q].residues.length);
  const h = new StaticArray<i32>(maxLen);
  const e = new StaticArray<i32>(maxLen);
  const stripedLen = ((maxLen + 7) >> 3) * 8;
  const hA = new StaticArray<i16>(stripedLen);
  const hB = new StaticArray<i16>(stripedLen);
  const e16 = new StaticArray<i16>(stripedLen);
  const started = performance.now();
  let cells: i64 = 0;
  const lines = new Array<string>();
  for (let q = 0; q < queries.length; q++) {
    const query = queries[q];
    const qlen = query.residues.length;
    const profile = new StaticArray<i32>(matrix.codes * qlen);
    for (let r = 0; r < matrix.codes; r++) {
      for (let i = 0; i < qlen; i++) profile[r * qlen + i] = matrix.score(r, <i32>query.residues[i]);
    }
    const striped = new StripedProfile(matrix, query.residues);
    const hits = new Array<Hit>(subjects.length);
    for (let s = 0; s < subjects.length; s++) {
      const subject = subjects[s];
      let score = scalarOnly ? -1 : alignStriped(striped, subject.residues, open, extend, hA, hB, e16);
      // The scalar kernel is exact where i16 lanes are not (and reports all-negative pairs).
      if (score < 0) score = align(profile, qlen, subject.residues, open, extend, h, e);
      cells += <i64>qlen * <i64>subject.residues.length;
      hits[s] = new Hit(subject.id, score, subject.residues.length);
    }
    const kept = best(hits, top);
    for (let k = 0; k < kept.length; k++) {
      const hit = kept[k];
      lines.push("{\"query\":" + jsonString(query.id) + ",\"subject\":" + jsonString(hit.subject) +
        ",\"score\":" + halvesToString(hit.score) + ",\"queryLength\":" + qlen.toString() +
        ",\"subjectLength\":" + hit.subjectLength.toString() + "}\n");
    }
  }
  const seconds = (performance.now() - started) / 1000.0;
  writeText("/out/hits.jsonl", lines.join(""));
  process.stdout.write("{\"queries\":" + queries.length.toString() + ",\"subjects\":" + subjects.length.toString() +
    ",\"pairs\":" + (queries.length * subjects.length).toString() + ",\"cells\":" + cells.toString() +
    ",\"seconds\":" + seconds.toString() + "}\n");
}

// ---- merge ----

/** Reads a JSON string starting at the quote at `at`; returns it and the index after it, or null. */
function readJsonString(line: string, at: i32): string | null {
  if (at >= line.length || line.charCodeAt(at) != 34) return null;
  let out = "";
  let i = at + 1;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c == 34) return out;
    if (c == 92) {
      if (i + 1 >= line.length) return null;
      const d = line.charCodeAt(i + 1);
      if (d == 117) {
        if (i + 5 >= line.length) return null;
        out += String.fromCharCode(<i32>parseInt(line.substring(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      out += d == 110 ? "\n" : d == 116 ? "\t" : String.fromCharCode(d);
      i += 2;
      continue;
    }
    out += String.fromCharCode(c);
    i++;
  }
  return null;
}

/** The value of a string field, as written by search (keys are never escaped there). */
function stringField(line: string, key: string, where: string): string {
  const at = line.indexOf("\"" + key + "\":");
  const value: string | null = at < 0 ? null : readJsonString(line, at + key.length + 3);
  if (value === null) {
    fail(where + " has no string \"" + key + "\"");
    return "";
  }
  return value;
}

/** The raw text of a number field. */
function numberField(line: string, key: string, where: string): string {
  const at = line.indexOf("\"" + key + "\":");
  if (at < 0) fail(where + " has no \"" + key + "\"");
  const start = at + key.length + 3;
  let end = start;
  while (end < line.length && line.charCodeAt(end) != 44 && line.charCodeAt(end) != 125) end++;
  return line.substring(start, end);
}

/** The score field in half units ("12.5" → 25). */
function scoreField(line: string, where: string): i32 {
  return parseHalves(where + " score", numberField(line, "score", where), -MAX_SCORE, MAX_SCORE);
}

function integerField(line: string, key: string, where: string): i32 {
  return parseInteger(where + " " + key, numberField(line, key, where));
}

function merge(files: string[], top: i32): void {
  const order = new Array<string>();
  const byQuery = new Map<string, Hit[]>();
  for (let f = 0; f < files.length; f++) {
    const lines = String.UTF8.decode(readWholeFile(files[f], fail).buffer).split("\n");
    for (let l = 0; l < lines.length; l++) {
      const line = lines[l];
      if (line.length == 0) continue;
      const where = files[f] + " line " + (l + 1).toString();
      if (!line.startsWith("{") || !line.endsWith("}")) fail(where + " is not a JSON object");
      const query = stringField(line, "query", where);
      const hit = new Hit(stringField(line, "subject", where), scoreField(line, where), integerField(line, "subjectLength", where));
      hit.line = line + "\n";
      if (!byQuery.has(query)) {
        order.push(query);
        byQuery.set(query, new Array<Hit>());
      }
      byQuery.get(query).push(hit);
    }
  }
  const out = new Array<string>();
  for (let q = 0; q < order.length; q++) {
    const kept = best(byQuery.get(order[q]), top);
    for (let k = 0; k < kept.length; k++) out.push(kept[k].line);
  }
  writeText("/out/hits.jsonl", out.join(""));
  process.stdout.write("{\"files\":" + files.length.toString() + ",\"queries\":" + order.length.toString() + "}\n");
}

// ---- main ----

const argv = process.argv;
let matrixPath = "", queriesPath = "", dbPath = "";
let top: i32 = -1;
let open: i32 = 20, extend: i32 = 1;
let merging = false;
let scalarOnly = false;
const files = new Array<string>();
for (let i = 1; i < argv.length; i++) {
  const a = argv[i];
  if (a == "--merge") { merging = true; continue; }
  if (a == "--scalar") { scalarOnly = true; continue; }
  if (a == "--help" || a == "-h") { process.stdout.write(USAGE + "\n"); process.exit(0); }
  if (!a.startsWith("--")) { files.push(a); continue; }
  if (i + 1 >= argv.length) fail("missing value after " + a + "\n" + USAGE);
  const v = argv[++i];
  if (a == "--matrix") matrixPath = v;
  else if (a == "--queries") queriesPath = v;
  else if (a == "--db") dbPath = v;
  else if (a == "--top") top = parseInteger(a, v);
  else if (a == "--gap-open") open = parseHalves(a, v, 0, MAX_PENALTY);
  else if (a == "--gap-extend") extend = parseHalves(a, v, 0, MAX_PENALTY);
  else fail("unknown option " + a + "\n" + USAGE);
}
if (top < 1 || top > MAX_TOP) fail("--top must be in 1.." + MAX_TOP.toString() + "\n" + USAGE);
if (merging) {
  if (files.length == 0) fail("--merge needs hits files\n" + USAGE);
  merge(files, top);
} else {
  if (matrixPath == "" || queriesPath == "" || dbPath == "" || files.length > 0) fail("give --matrix, --queries and --db (and no other arguments)\n" + USAGE);
  search(matrixPath, queriesPath, dbPath, top, open, extend, scalarOnly);
}
