// Ray-traces one tile of one frame of a short animation and writes it to /out/tile.ppm (binary PPM).
//
//   raytrace --width W --height H --tile-size S --tile I --frame F --frames N [--samples K] [--stdout]
//
// The scene: a checkered floor, a mirror sphere, coloured spheres and one that bounces, lit by two
// point lights (hard shadows, Phong highlights) under a sky gradient; reflections are followed up to
// MAX_BOUNCES deep. The camera circles the scene once over the N frames (frame F at angle 2πF/N).
// Every pixel is K × K samples on a fixed sub-pixel grid, so the picture depends on nothing but the
// arguments: replicas agree byte for byte, and a tile equals the same rectangle of a whole frame.
// Tile I counts row-major over ceil(W/S) × ceil(H/S) tiles (as the Mandelbrot example's); edge tiles
// are clipped. With --stdout the PPM goes to standard output. A one-line summary goes to stderr.
//
// AssemblyScript, compiled with @assemblyscript/wasi-shim (see scripts/build-examples.ts).

import { parseIntArg } from "../../lib/assembly/wasiFiles";
import { ppmTile, writePpm } from "../../lib/assembly/ppmTile";

const EPS: f64 = 1e-6;
const MAX_BOUNCES = 4;
/** tan(half the vertical field of view): about 48° top to bottom. */
const TAN_HALF_FOV: f64 = 0.45;
const AMBIENT: f64 = 0.08;
const SHININESS: f64 = 40.0;

// ---- output helpers ----

function fail(message: string, code: i32 = 2): void {
  process.stderr.write("raytrace: " + message + "\n");
  process.exit(code);
}

const USAGE = "usage: raytrace --width W --height H --tile-size S --tile I --frame F --frames N [--samples K] [--stdout]";


// ---- the scene ----

/** Spheres, SPHERE_FIELDS numbers each: centre x y z, radius, colour r g b, reflectivity, specular. */
const SPHERE_FIELDS = 9;
const SPHERES: StaticArray<f64> = [
  0.0, 1.0, 0.0, 1.0, 0.95, 0.95, 0.95, 0.85, 1.0, // the mirror
  2.1, 0.6, 0.9, 0.6, 0.90, 0.15, 0.12, 0.15, 0.6, // red
  -1.9, 0.5, 1.1, 0.5, 0.15, 0.75, 0.25, 0.10, 0.5, // green
  0.7, 0.45, -2.0, 0.45, 0.15, 0.30, 0.95, 0.25, 0.7, // blue
  -1.2, 0.35, -1.3, 0.35, 1.00, 0.78, 0.20, 0.40, 0.9, // the bouncing gold one (y set per frame)
];
const SPHERE_COUNT = SPHERES.length / SPHERE_FIELDS;
const BOUNCER = 4;
/** Floor y = 0: checker colours, reflectivity. */
const FLOOR_A_R: f64 = 0.85; const FLOOR_A_G: f64 = 0.85; const FLOOR_A_B: f64 = 0.80;
const FLOOR_B_R: f64 = 0.18; const FLOOR_B_G: f64 = 0.20; const FLOOR_B_B: f64 = 0.25;
const FLOOR_REFLECT: f64 = 0.25;
/** Point lights, LIGHT_FIELDS numbers each: position x y z, colour r g b. */
const LIGHT_FIELDS = 6;
const LIGHTS: StaticArray<f64> = [
  -4.0, 6.0, 3.0, 0.85, 0.80, 0.75,
  5.0, 4.0, -2.0, 0.45, 0.50, 0.65,
];
const LIGHT_COUNT = LIGHTS.length / LIGHT_FIELDS;
const NO_HIT = -1;
const FLOOR = -2;

// What the last intersect() found: the nearest object (a sphere index, FLOOR or NO_HIT) and where.
let hitObject = NO_HIT;
let hitT: f64 = 0.0;

/** Nearest hit along o + t·d (d of unit length) with EPS < t < maxT; sets hitObject and hitT. */
function intersect(ox: f64, oy: f64, oz: f64, dx: f64, dy: f64, dz: f64, maxT: f64): void {
  hitObject = NO_HIT;
  hitT = maxT;
  for (let s = 0; s < SPHERE_COUNT; s++) {
    const k = s * SPHERE_FIELDS;
    const cx = ox - unchecked(SPHERES[k]);
    const cy = oy - unchecked(SPHERES[k + 1]);
    const cz = oz - unchecked(SPHERES[k + 2]);
    const r = unchecked(SPHERES[k + 3]);
    const b = cx * dx + cy * dy + cz * dz;
    const c = cx * cx + cy * cy + cz * cz - r * r;
    const disc = b * b - c;
    if (disc < 0.0) continue;
    const root = Math.sqrt(disc);
    let t = -b - root;
    if (t <= EPS) t = -b + root;
    if (t > EPS && t < hitT) { hitT = t; hitObject = s; }
  }
  if (dy < 0.0) {
    const t = -oy / dy;
    if (t > EPS && t < hitT) { hitT = t; hitObject = FLOOR; }
  }
}

// The colour trace() found.
let outR: f64 = 0.0;
let outG: f64 = 0.0;
let outB: f64 = 0.0;

/** Follows a ray and its reflections; leaves its colour in outR/G/B. */
function trace(ox: f64, oy: f64, oz: f64, dx: f64, dy: f64, dz: f64): void {
  let r: f64 = 0.0, g: f64 = 0.0, b: f64 = 0.0;
  // What is left of the ray's weight after the surfaces it bounced off kept their share.
  let weight: f64 = 1.0;
  for (let bounce = 0; bounce <= MAX_BOUNCES; bounce++) {
    intersect(ox, oy, oz, dx, dy, dz, 1e30);
    if (hitObject == NO_HIT) {
      // Sky: pale at the horizon, deep blue overhead.
      const up = dy > 0.0 ? dy : 0.0;
      r += weight * (0.75 - 0.45 * up);
      g += weight * (0.85 - 0.35 * up);
      b += weight * (1.0 - 0.1 * up);
      break;
    }
    const px = ox + hitT * dx, py = oy + hitT * dy, pz = oz + hitT * dz;
    let nx: f64, ny: f64, nz: f64, cr: f64, cg: f64, cb: f64, reflect: f64, specular: f64;
    if (hitObject == FLOOR) {
      nx = 0.0; ny = 1.0; nz = 0.0;
      const odd = (<i64>Math.floor(px) + <i64>Math.floor(pz)) & 1;
      cr = odd != 0 ? FLOOR_B_R : FLOOR_A_R;
      cg = odd != 0 ? FLOOR_B_G : FLOOR_A_G;
      cb = odd != 0 ? FLOOR_B_B : FLOOR_A_B;
      reflect = FLOOR_REFLECT;
      specular = 0.2;
    } else {
      const k = hitObject * SPHERE_FIELDS;
      const inv = 1.0 / unchecked(SPHERES[k + 3]);
      nx = (px - unchecked(SPHERES[k])) * inv;
      ny = (py - unchecked(SPHERES[k + 1])) * inv;
      nz = (pz - unchecked(SPHERES[k + 2])) * inv;
      cr = unchecked(SPHERES[k + 4]); cg = unchecked(SPHERES[k + 5]); cb = unchecked(SPHERES[k + 6]);
      reflect = unchecked(SPHERES[k + 7]);
      specular = unchecked(SPHERES[k + 8]);
    }
    // Direct light: ambient, then each light the point sees (Lambert and a Phong highlight).
    let lr = AMBIENT * cr, lg = AMBIENT * cg, lb = AMBIENT * cb;
    const dn = dx * nx + dy * ny + dz * nz;
    const rx = dx - 2.0 * dn * nx, ry = dy - 2.0 * dn * ny, rz = dz - 2.0 * dn * nz;
    for (let l = 0; l < LIGHT_COUNT; l++) {
      const k = l * LIGHT_FIELDS;
      let tx = unchecked(LIGHTS[k]) - px, ty = unchecked(LIGHTS[k + 1]) - py, tz = unchecked(LIGHTS[k + 2]) - pz;
      const dist = Math.sqrt(tx * tx + ty * ty + tz * tz);
      tx /= dist; ty /= dist; tz /= dist;
      const lambert = tx * nx + ty * ny + tz * nz;
      if (lambert <= 0.0) continue;
      intersect(px, py, pz, tx, ty, tz, dist);
      if (hitObject != NO_HIT) continue; // in shadow
      const spec = tx * rx + ty * ry + tz * rz;
      const highlight = spec > 0.0 ? specular * Math.pow(spec, SHININESS) : 0.0;
      lr += unchecked(LIGHTS[k + 3]) * (lambert * cr + highlight);
      lg += unchecked(LIGHTS[k + 4]) * (lambert * cg + highlight);
      lb += unchecked(LIGHTS[k + 5]) * (lambert * cb + highlight);
    }
    r += weight * (1.0 - reflect) * lr;
    g += weight * (1.0 - reflect) * lg;
    b += weight * (1.0 - reflect) * lb;
    weight *= reflect;
    if (weight < 0.01) break;
    ox = px; oy = py; oz = pz;
    dx = rx; dy = ry; dz = rz;
  }
  outR = r; outG = g; outB = b;
}

/** A linear value in [0, 1] as an 8-bit channel, with gamma 2 (a square root: exactly rounded). */
function channel(v: f64): u8 {
  const c = Math.floor(Math.sqrt(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v) * 255.0 + 0.5);
  return <u8><i32>c;
}

// ---- main ----

const argv = process.argv;
let width: i64 = -1, height: i64 = -1, tileSize: i64 = -1, tile: i64 = -1, frame: i64 = -1, frames: i64 = -1;
let samples: i64 = 2;
let toStdout = false;
for (let i = 1; i < argv.length; i++) {
  const a = argv[i];
  if (a == "--stdout") { toStdout = true; continue; }
  if (a == "--help" || a == "-h") { process.stdout.write(USAGE + "\n"); process.exit(0); }
  if (i + 1 >= argv.length) fail("missing value after " + a + "\n" + USAGE);
  const v = argv[++i];
  if (a == "--width") width = parseIntArg(a, v, 1, 16384, fail);
  else if (a == "--height") height = parseIntArg(a, v, 1, 16384, fail);
  else if (a == "--tile-size") tileSize = parseIntArg(a, v, 1, 16384, fail);
  else if (a == "--tile") tile = parseIntArg(a, v, 0, 0x7fffffff, fail);
  else if (a == "--frame") frame = parseIntArg(a, v, 0, 0x7fffffff, fail);
  else if (a == "--frames") frames = parseIntArg(a, v, 1, 100000, fail);
  else if (a == "--samples") samples = parseIntArg(a, v, 1, 16, fail);
  else fail("unknown option " + a + "\n" + USAGE);
}
if (width < 0 || height < 0 || tileSize < 0 || tile < 0 || frame < 0 || frames < 0) fail("missing options\n" + USAGE);
if (frame >= frames) fail("frame " + frame.toString() + " is outside 0.." + (frames - 1).toString());

const out = ppmTile(width, height, tileSize, tile, fail);
const tx0 = out.x, ty0 = out.y, tw = out.w, th = out.h;

// The frame's moment: the camera circles once, the gold sphere bounces three times.
const phase = <f64>frame / <f64>frames;
const angle = 2.0 * Math.PI * phase;
unchecked(SPHERES[BOUNCER * SPHERE_FIELDS + 1] = 0.35 + 1.4 * Math.abs(Math.sin(3.0 * Math.PI * phase)));
const eyeX = 6.5 * Math.sin(angle), eyeY = 2.4 + 0.6 * Math.sin(2.0 * angle), eyeZ = 6.5 * Math.cos(angle);
// Camera basis: forward towards the target, right and up perpendicular to it.
let fx = 0.0 - eyeX, fy = 0.8 - eyeY, fz = 0.0 - eyeZ;
const fl = Math.sqrt(fx * fx + fy * fy + fz * fz);
fx /= fl; fy /= fl; fz /= fl;
let rgtX = -fz, rgtZ = fx; // forward × (0, 1, 0)
const rl = Math.sqrt(rgtX * rgtX + rgtZ * rgtZ);
rgtX /= rl; rgtZ /= rl;
const upX = -rgtZ * fy, upY = rgtZ * fx - rgtX * fz, upZ = rgtX * fy; // right × forward

const rgb = out.rgb;

const n = <i32>samples;
const perPixel = 1.0 / <f64>(n * n);
const aspect = <f64>width / <f64>height;
const w = <f64>width;
const h = <f64>height;
let o = 0;
for (let py = ty0; py < ty0 + th; py++) {
  for (let px = tx0; px < tx0 + tw; px++) {
    let r: f64 = 0.0, g: f64 = 0.0, b: f64 = 0.0;
    for (let sy = 0; sy < n; sy++) {
      for (let sx = 0; sx < n; sx++) {
        const u = (2.0 * (<f64>px + (<f64>sx + 0.5) / <f64>n) / w - 1.0) * TAN_HALF_FOV * aspect;
        const v = (1.0 - 2.0 * (<f64>py + (<f64>sy + 0.5) / <f64>n) / h) * TAN_HALF_FOV;
        let dx = fx + u * rgtX + v * upX, dy = fy + v * upY, dz = fz + u * rgtZ + v * upZ;
        const dl = Math.sqrt(dx * dx + dy * dy + dz * dz);
        dx /= dl; dy /= dl; dz /= dl;
        trace(eyeX, eyeY, eyeZ, dx, dy, dz);
        r += outR; g += outG; b += outB;
      }
    }
    rgb[o] = channel(r * perPixel);
    rgb[o + 1] = channel(g * perPixel);
    rgb[o + 2] = channel(b * perPixel);
    o += 3;
  }
}

writePpm(out, toStdout, fail);
process.stderr.write(
  "raytrace: frame " + frame.toString() + " of " + frames.toString() + ", tile " + tile.toString() + " of " + out.count.toString() +
  " at (" + tx0.toString() + "," + ty0.toString() + ") " + tw.toString() + "x" + th.toString() +
  ", " + n.toString() + "x" + n.toString() + " samples a pixel\n",
);
