// The training step of the 784-HIDDEN-10 perceptron (assembly/mlp.ts) as one WebGPU task: the
// same minibatch SGD, sample order, shifts and weight layout, so a provider with a GPU takes the
// same tasks as one running the WASI kernel. One workgroup runs every step: invocation t owns the
// hidden units t, t + 256, …, their W1 column, b1 entry and W2 row (and t < 10 the b2 entry), and
// only ever writes those, so steps need barriers but no atomics, and the arithmetic is in a fixed
// order: two runs on the same kind of device write the same bytes. Another GPU may differ from the
// WASI kernel in the last bits (fused multiply-add, its own exp and log).
//
// Params (f32): HIDDEN STEPS BATCH LR SEED OFFSET SHIFT. Buffers: weights (/in/weights), shard
// (/in/shard, records of 785 bytes), delta (the working weights, then trained − given: /out/delta),
// grad (PARAMS f32) and order (a u32 per sample) of the task's own.

const WORKGROUP: u32 = 256u;
const SIDE: i32 = 28;
const INPUTS: u32 = 784u;
const CLASSES: u32 = 10u;
const RECORD: u32 = 785u;
const MAX_HIDDEN: u32 = 1024u;

struct Params { values: array<vec4<f32>, 2> }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> shard: array<u32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> order: array<u32>;

var<workgroup> x: array<f32, 784>;
var<workgroup> h: array<f32, MAX_HIDDEN>;
var<workgroup> p: array<f32, 16>;
/** The sample thread 0 drew: its index, label and shift across and down. */
var<workgroup> drawn: vec4<i32>;

fn param(i: u32) -> f32 {
  return params.values[i / 4u][i % 4u];
}

fn shardByte(at: u32) -> u32 {
  return (shard[at >> 2u] >> ((at & 3u) * 8u)) & 0xffu;
}

fn mulberry32(state: u32) -> u32 {
  var t = state;
  t = (t ^ (t >> 15u)) * (t | 1u);
  t = t ^ (t + (t ^ (t >> 7u)) * (t | 61u));
  return t ^ (t >> 14u);
}

/** The shard's sample order in `epoch`: the WASI kernel's Fisher–Yates shuffle (thread 0 only). */
fn shuffle(samples: u32, seed: u32, epoch: u32) {
  var state = seed * 0x9e3779b9u + epoch;
  for (var i = 0u; i < samples; i++) { order[i] = i; }
  for (var i = samples - 1u; i > 0u; i--) {
    state += 0x6d2b79f5u;
    let j = mulberry32(state) % (i + 1u);
    let t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

@compute @workgroup_size(256)
fn train(@builtin(local_invocation_index) lid: u32) {
  let hidden = u32(param(0u));
  let steps = u32(param(1u));
  let batch = u32(param(2u));
  let scale = param(3u) / f32(batch);
  let seed = u32(param(4u));
  let offset = u32(param(5u));
  let shift = i32(param(6u));
  let samples = arrayLength(&shard) * 4u / RECORD;
  let b1 = INPUTS * hidden;
  let w2 = b1 + hidden;
  let b2 = w2 + hidden * CLASSES;

  // The working weights start as the given ones; each thread copies what it owns.
  for (var j = lid; j < hidden; j += WORKGROUP) {
    for (var i = 0u; i < INPUTS; i++) { w[i * hidden + j] = weights[i * hidden + j]; }
    w[b1 + j] = weights[b1 + j];
    for (var k = 0u; k < CLASSES; k++) { w[w2 + j * CLASSES + k] = weights[w2 + j * CLASSES + k]; }
  }
  if (lid < CLASSES) { w[b2 + lid] = weights[b2 + lid]; }

  // Thread 0's draws: the sample order and the shifts, as the WASI kernel makes them.
  var epoch = offset / samples;
  var position = offset % samples;
  var shiftState = seed * 0x85ebca6bu + offset;
  if (lid == 0u) { shuffle(samples, seed, epoch); }
  storageBarrier();
  workgroupBarrier();

  for (var step = 0u; step < steps; step++) {
    for (var j = lid; j < hidden; j += WORKGROUP) {
      for (var i = 0u; i < INPUTS; i++) { grad[i * hidden + j] = 0.0; }
      grad[b1 + j] = 0.0;
      for (var k = 0u; k < CLASSES; k++) { grad[w2 + j * CLASSES + k] = 0.0; }
    }
    if (lid < CLASSES) { grad[b2 + lid] = 0.0; }

    for (var b = 0u; b < batch; b++) {
      if (lid == 0u) {
        if (position == samples) {
          epoch += 1u;
          shuffle(samples, seed, epoch);
          position = 0u;
        }
        let s = order[position];
        position += 1u;
        var dx = 0;
        var dy = 0;
        if (shift > 0) {
          shiftState += 0x6d2b79f5u;
          dx = i32(mulberry32(shiftState) % u32(2 * shift + 1)) - shift;
          shiftState += 0x6d2b79f5u;
          dy = i32(mulberry32(shiftState) % u32(2 * shift + 1)) - shift;
        }
        drawn = vec4<i32>(i32(s), i32(shardByte(s * RECORD)), dx, dy);
      }
      workgroupBarrier();
      let sample = drawn;
      let at = u32(sample.x) * RECORD + 1u;
      for (var i = lid; i < INPUTS; i += WORKGROUP) {
        let fr = i32(i) / SIDE - sample.w;
        let fc = i32(i) % SIDE - sample.z;
        var v = 0u;
        if (fr >= 0 && fr < SIDE && fc >= 0 && fc < SIDE) { v = shardByte(at + u32(fr * SIDE + fc)); }
        x[i] = f32(v) / 255.0;
      }
      workgroupBarrier();

      // Forward: the hidden units (ReLU), then the logits.
      for (var j = lid; j < hidden; j += WORKGROUP) {
        var hj = w[b1 + j];
        for (var i = 0u; i < INPUTS; i++) {
          let xi = x[i];
          if (xi != 0.0) { hj += xi * w[i * hidden + j]; }
        }
        h[j] = max(hj, 0.0);
      }
      workgroupBarrier();
      if (lid < CLASSES) {
        var z = w[b2 + lid];
        for (var j = 0u; j < hidden; j++) { z += h[j] * w[w2 + j * CLASSES + lid]; }
        p[lid] = z;
      }
      workgroupBarrier();
      // Softmax cross-entropy: dz = p − onehot(label).
      if (lid == 0u) {
        var top = p[0];
        for (var k = 1u; k < CLASSES; k++) { top = max(top, p[k]); }
        var sum = 0.0;
        for (var k = 0u; k < CLASSES; k++) {
          p[k] = exp(p[k] - top);
          sum += p[k];
        }
        for (var k = 0u; k < CLASSES; k++) { p[k] /= sum; }
        p[sample.y] -= 1.0;
      }
      workgroupBarrier();

      // Backward into the gradient each thread owns.
      for (var j = lid; j < hidden; j += WORKGROUP) {
        let hj = h[j];
        var g = 0.0;
        for (var k = 0u; k < CLASSES; k++) {
          let dz = p[k];
          g += w[w2 + j * CLASSES + k] * dz;
          grad[w2 + j * CLASSES + k] += hj * dz;
        }
        var dh = 0.0;
        if (hj > 0.0) { dh = g; }
        grad[b1 + j] += dh;
        for (var i = 0u; i < INPUTS; i++) {
          let xi = x[i];
          if (xi != 0.0) { grad[i * hidden + j] += xi * dh; }
        }
      }
      if (lid < CLASSES) { grad[b2 + lid] += p[lid]; }
      workgroupBarrier();
    }

    for (var j = lid; j < hidden; j += WORKGROUP) {
      for (var i = 0u; i < INPUTS; i++) { w[i * hidden + j] -= scale * grad[i * hidden + j]; }
      w[b1 + j] -= scale * grad[b1 + j];
      for (var k = 0u; k < CLASSES; k++) { w[w2 + j * CLASSES + k] -= scale * grad[w2 + j * CLASSES + k]; }
    }
    if (lid < CLASSES) { w[b2 + lid] -= scale * grad[b2 + lid]; }
    storageBarrier();
    workgroupBarrier();
  }

  // The delta, in place: trained − given.
  for (var j = lid; j < hidden; j += WORKGROUP) {
    for (var i = 0u; i < INPUTS; i++) { w[i * hidden + j] -= weights[i * hidden + j]; }
    w[b1 + j] -= weights[b1 + j];
    for (var k = 0u; k < CLASSES; k++) { w[w2 + j * CLASSES + k] -= weights[w2 + j * CLASSES + k]; }
  }
  if (lid < CLASSES) { w[b2 + lid] -= weights[b2 + lid]; }
}
