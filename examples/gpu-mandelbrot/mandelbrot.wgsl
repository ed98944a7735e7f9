// One tile of the Mandelbrot picture of examples/mandelbrot, on the GPU: the same view, the same
// cardioid and bulb test, escape radius and smooth iteration count, in f32 (WGSL has no f64) with
// the GPU's own log2. Writes mu, the smooth iteration count, per pixel of the tile (row-major over
// the tile's clipped width), or -1 inside the set; the requester colours it with the WASI example's
// palette. Params (u32): width, height, tile size, tile index, max iterations.
@group(0) @binding(0) var<uniform> params: array<vec4<u32>, 2>;
@group(0) @binding(1) var<storage, read_write> mu: array<f32>;

const CENTER_X = -0.6;
const CENTER_Y = 0.0;
const SPAN_X = 3.2;
const SPAN_Y = 2.4;
const ESCAPE2 = 65536.0;

@compute @workgroup_size(8, 8)
fn render(@builtin(global_invocation_id) id: vec3<u32>) {
  let width = params[0].x;
  let height = params[0].y;
  let tileSize = params[0].z;
  let tile = params[0].w;
  let maxIter = params[1].x;
  let cols = (width + tileSize - 1u) / tileSize;
  let rx = (tile % cols) * tileSize;
  let ry = (tile / cols) * tileSize;
  let rw = min(tileSize, width - rx);
  let rh = min(tileSize, height - ry);
  if (id.x >= rw || id.y >= rh) { return; }

  let w = f32(width);
  let h = f32(height);
  let scale = max(SPAN_X / w, SPAN_Y / h);
  let cx = CENTER_X + ((f32(rx + id.x) + 0.5) - w * 0.5) * scale;
  let cy = CENTER_Y - ((f32(ry + id.y) + 0.5) - h * 0.5) * scale;
  // The main cardioid and the period-2 bulb are inside: skip their maxIter steps.
  let xq = cx - 0.25;
  let y2 = cy * cy;
  let q = xq * xq + y2;
  let xb = cx + 1.0;
  var value = -1.0;
  if (!(q * (q + xq) <= 0.25 * y2 || xb * xb + y2 <= 0.0625)) {
    var zx = 0.0;
    var zy = 0.0;
    var zx2 = 0.0;
    var zy2 = 0.0;
    var n = 0u;
    while (n < maxIter && zx2 + zy2 <= ESCAPE2) {
      zy = 2.0 * zx * zy + cy;
      zx = zx2 - zy2 + cx;
      zx2 = zx * zx;
      zy2 = zy * zy;
      n++;
    }
    if (!(n >= maxIter && zx2 + zy2 <= ESCAPE2)) {
      value = f32(n) + 1.0 - log2(0.5 * log2(zx2 + zy2));
    }
  }
  mu[id.y * rw + id.x] = value;
}
