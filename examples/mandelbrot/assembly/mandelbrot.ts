// Renders one tile of a Mandelbrot image and writes it to /out/tile.ppm as a binary PPM (P6).
//
//   mandelbrot --width W --height H --tile-size S --tile I --max-iter N [--stdout]
//
// Tile I counts row-major over ceil(W/S) × ceil(H/S) tiles; tiles on the right and bottom edges
// are clipped. With --stdout the PPM goes to standard output instead of /out. A one-line summary
// goes to stderr. The float math is mirrored line by line in ../tiles.ts (renderTileJs), which the
// tests compare against pixel for pixel, so change both together. Only + - * / sqrt floor are used
// on floats: those are exactly rounded in WebAssembly and JavaScript alike.
//
// AssemblyScript, compiled with @assemblyscript/wasi-shim (see scripts/build-examples.ts).

import { parseIntArg } from "../../lib/assembly/wasiFiles";
import { ppmTile, writePpm } from "../../lib/assembly/ppmTile";

const LN2: f64 = 0.6931471805599453;
const SQRT2: f64 = 1.4142135623730951;
const ESCAPE2: f64 = 65536.0;
const CENTER_X: f64 = -0.6;
const CENTER_Y: f64 = 0.0;
const SPAN_X: f64 = 3.2;
const SPAN_Y: f64 = 2.4;
const STOPS: StaticArray<f64> = [
  0.0, 0.0, 7.0, 100.0,
  0.16, 32.0, 107.0, 203.0,
  0.42, 237.0, 255.0, 255.0,
  0.6425, 255.0, 170.0, 0.0,
  0.8575, 0.0, 2.0, 0.0,
  1.0, 0.0, 7.0, 100.0,
];
const COLOR_SCALE: f64 = 0.19;
const COLOR_OFFSET: f64 = 0.62;

// ---- output helpers ----

function fail(message: string, code: i32 = 2): void {
  process.stderr.write("mandelbrot: " + message + "\n");
  process.exit(code);
}

const USAGE = "usage: mandelbrot --width W --height H --tile-size S --tile I --max-iter N [--stdout]";


// ---- the renderer; keep every line in step with ../tiles.ts ----

function ln(x: f64): f64 {
  let e: f64 = 0.0;
  while (x >= 2.0) { x = x * 0.5; e = e + 1.0; }
  while (x < 1.0) { x = x * 2.0; e = e - 1.0; }
  if (x > SQRT2) { x = x * 0.5; e = e + 1.0; }
  const s = (x - 1.0) / (x + 1.0);
  const s2 = s * s;
  let p: f64 = 1.0 / 23.0;
  p = p * s2 + 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  p = p * s2 + 1.0;
  return e * LN2 + 2.0 * s * p;
}

function channel(v: f64): u8 {
  const r = Math.floor(v + 0.5);
  return r < 0.0 ? 0 : r > 255.0 ? 255 : <u8><i32>r;
}

function shade(rgb: Uint8Array, o: i32, inside: bool, mu: f64): void {
  if (inside) {
    rgb[o] = 0; rgb[o + 1] = 0; rgb[o + 2] = 0;
    return;
  }
  if (mu < 0.0) mu = 0.0;
  let t = Math.sqrt(mu) * COLOR_SCALE + COLOR_OFFSET;
  t = t - Math.floor(t);
  let k = 0;
  while (k < 16 && t > unchecked(STOPS[k + 4])) k += 4;
  const t0 = unchecked(STOPS[k]);
  const f = (t - t0) / (unchecked(STOPS[k + 4]) - t0);
  rgb[o] = channel(unchecked(STOPS[k + 1]) + (unchecked(STOPS[k + 5]) - unchecked(STOPS[k + 1])) * f);
  rgb[o + 1] = channel(unchecked(STOPS[k + 2]) + (unchecked(STOPS[k + 6]) - unchecked(STOPS[k + 2])) * f);
  rgb[o + 2] = channel(unchecked(STOPS[k + 3]) + (unchecked(STOPS[k + 7]) - unchecked(STOPS[k + 3])) * f);
}

// ---- main ----

const argv = process.argv;
let width: i64 = -1, height: i64 = -1, tileSize: i64 = -1, tile: i64 = -1, maxIter: i64 = -1;
let toStdout = false;
for (let i = 1; i < argv.length; i++) {
  const a = argv[i];
  if (a == "--stdout") { toStdout = true; continue; }
  if (a == "--help" || a == "-h") { process.stdout.write(USAGE + "\n"); process.exit(0); }
  if (i + 1 >= argv.length) fail("missing value after " + a + "\n" + USAGE);
  const v = argv[++i];
  if (a == "--width") width = parseIntArg(a, v, 1, 65536, fail);
  else if (a == "--height") height = parseIntArg(a, v, 1, 65536, fail);
  else if (a == "--tile-size") tileSize = parseIntArg(a, v, 1, 65536, fail);
  else if (a == "--tile") tile = parseIntArg(a, v, 0, 0x7fffffff, fail);
  else if (a == "--max-iter") maxIter = parseIntArg(a, v, 1, 100000000, fail);
  else fail("unknown option " + a + "\n" + USAGE);
}
if (width < 0 || height < 0 || tileSize < 0 || tile < 0 || maxIter < 0) fail("missing options\n" + USAGE);

const out = ppmTile(width, height, tileSize, tile, fail);
const rx = out.x, ry = out.y, rw = out.w, rh = out.h;
const rgb = out.rgb;

const w = <f64>width;
const h = <f64>height;
const scale = Math.max(SPAN_X / w, SPAN_Y / h);
const halfW = w * 0.5;
const halfH = h * 0.5;
const limit = <i32>maxIter;
let insideCount: i64 = 0;
let iterations: i64 = 0;
let o = 0;
for (let py = ry; py < ry + rh; py++) {
  const cy = CENTER_Y - ((<f64>py + 0.5) - halfH) * scale;
  for (let px = rx; px < rx + rw; px++) {
    const cx = CENTER_X + ((<f64>px + 0.5) - halfW) * scale;
    const xq = cx - 0.25;
    const y2 = cy * cy;
    const q = xq * xq + y2;
    const xb = cx + 1.0;
    let inside = q * (q + xq) <= 0.25 * y2 || xb * xb + y2 <= 0.0625;
    let mu: f64 = 0.0;
    if (!inside) {
      let zx: f64 = 0.0;
      let zy: f64 = 0.0;
      let zx2: f64 = 0.0;
      let zy2: f64 = 0.0;
      let n = 0;
      while (n < limit && zx2 + zy2 <= ESCAPE2) {
        zy = 2.0 * zx * zy + cy;
        zx = zx2 - zy2 + cx;
        zx2 = zx * zx;
        zy2 = zy * zy;
        n++;
      }
      iterations += n;
      if (n >= limit && zx2 + zy2 <= ESCAPE2) {
        inside = true;
      } else {
        const log2Abs = 0.5 * ln(zx2 + zy2) / LN2;
        mu = <f64>n + 1.0 - ln(log2Abs) / LN2;
      }
    }
    if (inside) insideCount++;
    shade(rgb, o, inside, mu);
    o += 3;
  }
}

writePpm(out, toStdout, fail);
process.stderr.write(
  "mandelbrot: tile " + tile.toString() + " of " + out.count.toString() +
  " at (" + rx.toString() + "," + ry.toString() + ") " + rw.toString() + "x" + rh.toString() +
  ", max-iter " + maxIter.toString() + ": " + insideCount.toString() + " inside, " +
  iterations.toString() + " iterations\n",
);
