/**
 * `renderTileJs`, a plain-TypeScript twin of assembly/mandelbrot.ts, for the Mandelbrot example. The
 * twin does the same f64 operations in the same order (no Math.log or other library functions whose
 * last bit may differ between engines), so its pixels equal the WebAssembly module's byte for byte.
 * Tile geometry and PPM live in src/util (the dashboard draws tiles too).
 */
import { tileRect } from '../../src/util/index.ts'
import type { Image } from '../../src/util/index.ts'

export { assembleTiles, encodePpm, parsePpm, tileCount, tileGrid, tileRect } from '../../src/util/index.ts'
export type { Image, TileRect } from '../../src/util/index.ts'

// ---- the renderer; keep every line in step with assembly/mandelbrot.ts ----

const LN2 = 0.6931471805599453
const SQRT2 = 1.4142135623730951
/** Escape radius 2^8: a large radius makes the smooth iteration count smoother. */
const ESCAPE2 = 65536.0
/** The view: centre and the extent that must fit (x ∈ [-2.2, 1.0], y ∈ [-1.2, 1.2]). */
const CENTER_X = -0.6
const CENTER_Y = 0.0
const SPAN_X = 3.2
const SPAN_Y = 2.4
/** Palette stops (position, r, g, b), cyclic: the last stop repeats the first. */
const STOPS: readonly number[] = [
  0.0, 0.0, 7.0, 100.0,
  0.16, 32.0, 107.0, 203.0,
  0.42, 237.0, 255.0, 255.0,
  0.6425, 255.0, 170.0, 0.0,
  0.8575, 0.0, 2.0, 0.0,
  1.0, 0.0, 7.0, 100.0,
]
/** Palette cycles per unit of sqrt(smooth iteration count), and where the first cycle starts. */
const COLOR_SCALE = 0.19
const COLOR_OFFSET = 0.62

/** Natural logarithm from + - * / only (x > 0, finite), so JS and WebAssembly agree to the bit. */
function ln (x: number): number {
  let e = 0.0
  while (x >= 2.0) { x = x * 0.5; e = e + 1.0 }
  while (x < 1.0) { x = x * 2.0; e = e - 1.0 }
  if (x > SQRT2) { x = x * 0.5; e = e + 1.0 }
  const s = (x - 1.0) / (x + 1.0)
  const s2 = s * s
  let p = 1.0 / 23.0
  p = p * s2 + 1.0 / 21.0
  p = p * s2 + 1.0 / 19.0
  p = p * s2 + 1.0 / 17.0
  p = p * s2 + 1.0 / 15.0
  p = p * s2 + 1.0 / 13.0
  p = p * s2 + 1.0 / 11.0
  p = p * s2 + 1.0 / 9.0
  p = p * s2 + 1.0 / 7.0
  p = p * s2 + 1.0 / 5.0
  p = p * s2 + 1.0 / 3.0
  p = p * s2 + 1.0
  return e * LN2 + 2.0 * s * p
}

function channel (v: number): number {
  const r = Math.floor(v + 0.5)
  return r < 0.0 ? 0 : r > 255.0 ? 255 : r
}

/** Writes the colour for smooth iteration count `mu` (or black when `inside`) at rgb[o..o+2]; the GPU Mandelbrot colours with it too. */
export function shade (rgb: Uint8Array, o: number, inside: boolean, mu: number): void {
  if (inside) {
    rgb[o] = 0; rgb[o + 1] = 0; rgb[o + 2] = 0
    return
  }
  if (mu < 0.0) mu = 0.0
  let t = Math.sqrt(mu) * COLOR_SCALE + COLOR_OFFSET
  t = t - Math.floor(t)
  let k = 0
  while (k < 16 && t > STOPS[k + 4]!) k += 4
  const t0 = STOPS[k]!
  const f = (t - t0) / (STOPS[k + 4]! - t0)
  rgb[o] = channel(STOPS[k + 1]! + (STOPS[k + 5]! - STOPS[k + 1]!) * f)
  rgb[o + 1] = channel(STOPS[k + 2]! + (STOPS[k + 6]! - STOPS[k + 2]!) * f)
  rgb[o + 2] = channel(STOPS[k + 3]! + (STOPS[k + 7]! - STOPS[k + 3]!) * f)
}

/**
 * Renders tile `tile` of a width × height Mandelbrot image exactly as the WebAssembly module does,
 * returning the tile's clipped size and its RGB pixels.
 */
export function renderTileJs (width: number, height: number, tileSize: number, tile: number, maxIter: number): Image {
  if (!Number.isSafeInteger(maxIter) || maxIter < 1) throw new RangeError(`maxIter must be a positive integer, got ${maxIter}`)
  const rect = tileRect(tile, width, height, tileSize)
  const rgb = new Uint8Array(rect.w * rect.h * 3)
  const scale = Math.max(SPAN_X / width, SPAN_Y / height)
  const halfW = width * 0.5
  const halfH = height * 0.5
  let o = 0
  for (let py = rect.y; py < rect.y + rect.h; py++) {
    const cy = CENTER_Y - ((py + 0.5) - halfH) * scale
    for (let px = rect.x; px < rect.x + rect.w; px++) {
      const cx = CENTER_X + ((px + 0.5) - halfW) * scale
      // Skip the main cardioid and the period-2 bulb: they are inside and cost maxIter steps.
      const xq = cx - 0.25
      const y2 = cy * cy
      const q = xq * xq + y2
      const xb = cx + 1.0
      let inside = q * (q + xq) <= 0.25 * y2 || xb * xb + y2 <= 0.0625
      let mu = 0.0
      if (!inside) {
        let zx = 0.0
        let zy = 0.0
        let zx2 = 0.0
        let zy2 = 0.0
        let n = 0
        while (n < maxIter && zx2 + zy2 <= ESCAPE2) {
          zy = 2.0 * zx * zy + cy
          zx = zx2 - zy2 + cx
          zx2 = zx * zx
          zy2 = zy * zy
          n++
        }
        if (n >= maxIter && zx2 + zy2 <= ESCAPE2) {
          inside = true
        } else {
          // mu = n + 1 - log2(log2 |z|), continuous across iteration bands.
          const log2Abs = 0.5 * ln(zx2 + zy2) / LN2
          mu = n + 1.0 - ln(log2Abs) / LN2
        }
      }
      shade(rgb, o, inside, mu)
      o += 3
    }
  }
  return { width: rect.w, height: rect.h, rgb }
}
