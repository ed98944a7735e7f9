// A 784-HIDDEN-10 multilayer perceptron (ReLU, softmax cross-entropy) on MNIST-style digits: the
// kernel of data-parallel training across the grid.
//
//   mlp train HIDDEN STEPS BATCH LR SEED OFFSET [SHIFT]   /in/weights, /in/shard → /out/delta
//   mlp eval HIDDEN                                       /in/weights, /in/shard → stdout "correct count lossSum"
//
// train: STEPS minibatch SGD steps of BATCH samples with learning rate LR from the weights, and
// writes the change (trained − given) to /out/delta. Samples come in the order of a permutation of
// the shard drawn per epoch from SEED; OFFSET is how many samples earlier rounds already used, so
// successive rounds walk on through the shard. SHIFT (default 0) augments the data: each training
// sample is moved by up to SHIFT pixels across and down, drawn from SEED and OFFSET, so the same
// task still writes the same bytes everywhere. eval: the count of correctly classified samples and
// the summed cross-entropy loss.
//
// Weights and deltas are f32 little-endian: W1 (784 × HIDDEN, input-major), b1 (HIDDEN),
// W2 (HIDDEN × 10), b2 (10). A shard is records of 785 bytes: the label, then 784 pixels (0–255).
// Only f32 arithmetic in a fixed order (no relaxed SIMD, no threads), so two providers running the
// same step write the same bytes.
//
// AssemblyScript, compiled with @assemblyscript/wasi-shim (by the SDK, or scripts/build-examples.ts).

import { readWholeFile, writeFile, parseIntArg } from "../../lib/assembly/wasiFiles";

const USAGE = "usage: mlp train HIDDEN STEPS BATCH LR SEED OFFSET [SHIFT] | mlp eval HIDDEN";
const SIDE: i32 = 28;
const INPUTS: i32 = SIDE * SIDE;
const CLASSES: i32 = 10;
const RECORD: i32 = INPUTS + 1;

function fail(message: string, code: i32 = 2): void {
  process.stderr.write("mlp: " + message + "\n");
  process.exit(code);
}

function intArg(at: i32, name: string, min: i64, max: i64): i32 {
  if (process.argv.length <= at) fail(USAGE);
  return <i32>parseIntArg(name, process.argv[at], min, max, fail);
}

const mode = process.argv.length > 1 ? process.argv[1] : "";
if (mode != "train" && mode != "eval") fail(USAGE);
const hidden = intArg(2, "HIDDEN", 4, 4096);
if (hidden % 4 != 0) fail("HIDDEN must be a multiple of 4, got " + hidden.toString());
const W1: i32 = 0;
const B1: i32 = W1 + INPUTS * hidden;
const W2: i32 = B1 + hidden;
const B2: i32 = W2 + hidden * CLASSES;
const PARAMS: i32 = B2 + CLASSES;
/** PARAMS rounded up to whole f32x4 vectors: the update loop runs over them, and the tail is zero. */
const PADDED: i32 = (PARAMS + 3) & ~3;

const weightBytes = readWholeFile("/in/weights", fail);
if (weightBytes.length != PARAMS * 4) fail("/in/weights holds " + weightBytes.length.toString() + " bytes, a 784-" + hidden.toString() + "-10 MLP has " + (PARAMS * 4).toString(), 1);
const shard = readWholeFile("/in/shard", fail);
if (shard.length == 0 || shard.length % RECORD != 0) fail("/in/shard must be whole records of 785 bytes (label, 784 pixels), got " + shard.length.toString() + " bytes", 1);
const samples = shard.length / RECORD;
for (let s = 0; s < samples; s++) if (shard[s * RECORD] >= <u8>CLASSES) fail("/in/shard sample " + s.toString() + " has label " + shard[s * RECORD].toString(), 1);

const w = new StaticArray<f32>(PADDED);
memory.copy(changetype<usize>(w), weightBytes.dataStart, <usize>(PARAMS * 4));

const x = new StaticArray<f32>(INPUTS);
/** Indices of the sample's non-zero pixels: most are zero, and only those contribute to W1. */
const nonZero = new StaticArray<i32>(INPUTS);
const h = new StaticArray<f32>(hidden);
const dh = new StaticArray<f32>(hidden);
const p = new StaticArray<f32>(CLASSES);

/**
 * Loads sample s, moved dx pixels right and dy down (what moves out of the image is lost, what
 * moves in is blank), into x and nonZero; returns how many pixels are non-zero.
 */
function loadSample(s: i32, dx: i32 = 0, dy: i32 = 0): i32 {
  const at = s * RECORD + 1;
  let n = 0;
  for (let r = 0; r < SIDE; r++) {
    const from = r - dy;
    for (let c = 0; c < SIDE; c++) {
      const i = r * SIDE + c;
      const fc = c - dx;
      const v = from >= 0 && from < SIDE && fc >= 0 && fc < SIDE ? unchecked(shard[at + from * SIDE + fc]) : 0;
      unchecked(x[i] = <f32>v / 255.0);
      if (v != 0) unchecked(nonZero[n++] = i);
    }
  }
  return n;
}

// The hot loops run over the hidden units four at a time (hidden is a multiple of 4). Each unit
// still sees the same operations in the same order as a scalar loop, so results do not depend on it.

/** to[j] += a * from[j] for the `hidden` floats at `to` and `from`. */
@inline
function axpy(to: usize, a: f32, from: usize): void {
  const av = f32x4.splat(a);
  for (let j: usize = 0; j < <usize>hidden << 2; j += 16) {
    v128.store(to + j, f32x4.add(v128.load(to + j), f32x4.mul(av, v128.load(from + j))));
  }
}

/** Forward pass of the loaded sample: h (after ReLU) and the class probabilities p; returns its loss. */
function forward(n: i32, label: i32): f32 {
  const wp = changetype<usize>(w);
  const hp = changetype<usize>(h);
  memory.copy(hp, wp + (<usize>B1 << 2), <usize>hidden << 2);
  for (let q = 0; q < n; q++) {
    const i = unchecked(nonZero[q]);
    axpy(hp, unchecked(x[i]), wp + (<usize>(W1 + i * hidden) << 2));
  }
  for (let j = 0; j < hidden; j++) if (unchecked(h[j]) < 0) unchecked(h[j] = 0);
  let top: f32 = -Infinity;
  for (let k = 0; k < CLASSES; k++) {
    let z = unchecked(w[B2 + k]);
    for (let j = 0; j < hidden; j++) z += unchecked(h[j]) * unchecked(w[W2 + j * CLASSES + k]);
    unchecked(p[k] = z);
    if (z > top) top = z;
  }
  let sum: f32 = 0;
  for (let k = 0; k < CLASSES; k++) {
    const e = Mathf.exp(unchecked(p[k]) - top);
    unchecked(p[k] = e);
    sum += e;
  }
  for (let k = 0; k < CLASSES; k++) unchecked(p[k] /= sum);
  return -Mathf.log(Mathf.max(p[label], 1e-30));
}

function argmax(): i32 {
  let best = 0;
  for (let k = 1; k < CLASSES; k++) if (p[k] > p[best]) best = k;
  return best;
}

/** mulberry32's output for a state, as conun's seededRandom. */
function mulberry32(state: u32): u32 {
  let t = state;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return t ^ (t >>> 14);
}

/** The generator of sample order. */
let rngState: u32 = 0;
function random(): u32 {
  rngState += 0x6d2b79f5;
  return mulberry32(rngState);
}

/** The generator of shifts, apart from the order's so that SHIFT leaves the order as it was. */
let shiftState: u32 = 0;
function randomShift(shift: i32): i32 {
  shiftState += 0x6d2b79f5;
  return <i32>(mulberry32(shiftState) % <u32>(2 * shift + 1)) - shift;
}

/** The shard's sample order in `epoch`: a Fisher–Yates shuffle seeded by SEED and the epoch. */
function shuffle(order: StaticArray<i32>, seed: u32, epoch: u32): void {
  rngState = seed * 0x9e3779b9 + epoch;
  for (let i = 0; i < samples; i++) order[i] = i;
  for (let i = samples - 1; i > 0; i--) {
    const j = <i32>(random() % <u32>(i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

function train(): void {
  const steps = intArg(3, "STEPS", 1, 1000000);
  const batch = intArg(4, "BATCH", 1, 65536);
  if (process.argv.length <= 5) fail(USAGE);
  const lr = <f32>parseFloat(process.argv[5]);
  if (!(lr > 0 && lr < 100)) fail("LR must be a number in (0, 100), got \"" + process.argv[5] + "\"");
  const seed = <u32>intArg(6, "SEED", 0, 0xffffffff);
  const offset = <i64>parseIntArg("OFFSET", process.argv.length > 7 ? process.argv[7] : "", 0, 1 << 50, fail);
  const shift = process.argv.length > 8 ? intArg(8, "SHIFT", 0, 4) : 0;
  shiftState = seed * 0x85ebca6b + <u32>offset;

  const start = new StaticArray<f32>(PARAMS);
  memory.copy(changetype<usize>(start), changetype<usize>(w), <usize>(PARAMS * 4));
  const grad = new StaticArray<f32>(PADDED);
  const wp = changetype<usize>(w);
  const gp = changetype<usize>(grad);
  const dhp = changetype<usize>(dh);
  const order = new StaticArray<i32>(samples);
  let epoch = <u32>(offset / samples);
  shuffle(order, seed, epoch);
  let position = <i32>(offset % samples);
  const scale = lr / <f32>batch;

  for (let step = 0; step < steps; step++) {
    memory.fill(gp, 0, <usize>(PADDED * 4));
    for (let b = 0; b < batch; b++) {
      if (position == samples) {
        shuffle(order, seed, ++epoch);
        position = 0;
      }
      const s = order[position++];
      const label = <i32>shard[s * RECORD];
      const dx = shift > 0 ? randomShift(shift) : 0;
      const dy = shift > 0 ? randomShift(shift) : 0;
      const n = loadSample(s, dx, dy);
      forward(n, label);
      // Softmax cross-entropy: dz = p − onehot(label).
      p[label] -= 1;
      for (let j = 0; j < hidden; j++) {
        let g: f32 = 0;
        const hj = unchecked(h[j]);
        const row = W2 + j * CLASSES;
        for (let k = 0; k < CLASSES; k++) {
          const dz = unchecked(p[k]);
          g += unchecked(w[row + k]) * dz;
          unchecked(grad[row + k] += hj * dz);
        }
        unchecked(dh[j] = hj > 0 ? g : 0);
      }
      for (let k = 0; k < CLASSES; k++) unchecked(grad[B2 + k] += p[k]);
      for (let j = 0; j < hidden; j++) unchecked(grad[B1 + j] += dh[j]);
      for (let q = 0; q < n; q++) {
        const i = unchecked(nonZero[q]);
        axpy(gp + (<usize>(W1 + i * hidden) << 2), unchecked(x[i]), dhp);
      }
    }
    const sv = f32x4.splat(scale);
    for (let i: usize = 0; i < <usize>PADDED << 2; i += 16) {
      v128.store(wp + i, f32x4.sub(v128.load(wp + i), f32x4.mul(sv, v128.load(gp + i))));
    }
  }

  const delta = new Uint8Array(PARAMS * 4);
  const out = changetype<usize>(delta.dataStart);
  for (let i = 0; i < PARAMS; i++) store<f32>(out + (<usize>i << 2), w[i] - start[i]);
  writeFile("/out/delta", delta, fail);
}

function evaluate(): void {
  let correct = 0;
  let lossSum: f64 = 0;
  for (let s = 0; s < samples; s++) {
    const label = <i32>shard[s * RECORD];
    lossSum += <f64>forward(loadSample(s), label);
    if (argmax() == label) correct++;
  }
  process.stdout.write(correct.toString() + " " + samples.toString() + " " + lossSum.toString() + "\n");
}

if (mode == "train") train();
else evaluate();
