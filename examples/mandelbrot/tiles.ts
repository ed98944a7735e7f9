/**
 * Helpers for the Mandelbrot example: tile geometry, PPM parsing, assembling tiles into one image,
 * and `renderTileJs`, a plain-TypeScript twin of assembly/mandelbrot.ts. The twin does the same f64
 * operations in the same order (no Math.log or other library functions whose last bit may differ
 * between engines), so its pixels equal the WebAssembly module's byte for byte.
 */

export interface TileRect {
  readonly x: number
  readonly y: number
  readonly w: number
  readonly h: number
}

export interface Image {
  readonly width: number
  readonly height: number
  /** Row-major RGB, 3 bytes a pixel. */
  readonly rgb: Uint8Array
}

function checkGeometry (width: number, height: number, tileSize: number): void {
  for (const [name, v] of [['width', width], ['height', height], ['tileSize', tileSize]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`)
  }
}

/** Tiles across and down: ceil(width / tileSize) × ceil(height / tileSize). */
export function tileGrid (width: number, height: number, tileSize: number): { cols: number, rows: number } {
  checkGeometry(width, height, tileSize)
  return { cols: Math.ceil(width / tileSize), rows: Math.ceil(height / tileSize) }
}

/** How many tiles cover a width × height image. */
export function tileCount (width: number, height: number, tileSize: number): number {
  const { cols, rows } = tileGrid(width, height, tileSize)
  return cols * rows
}

/** Where tile `i` (row-major) sits in the image; tiles on the right and bottom edges are clipped. */
export function tileRect (i: number, width: number, height: number, tileSize: number): TileRect {
  const { cols, rows } = tileGrid(width, height, tileSize)
  if (!Number.isSafeInteger(i) || i < 0 || i >= cols * rows) {
    throw new RangeError(`tile ${i} is outside 0..${cols * rows - 1}`)
  }
  const x = (i % cols) * tileSize
  const y = Math.floor(i / cols) * tileSize
  return { x, y, w: Math.min(tileSize, width - x), h: Math.min(tileSize, height - y) }
}

function isSpace (b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c
}

/** Parses a binary PPM (P6, maxval ≤ 255; `#` comments allowed in the header). */
export function parsePpm (bytes: Uint8Array): Image {
  let pos = 0
  const token = (): string => {
    for (;;) {
      while (pos < bytes.length && isSpace(bytes[pos]!)) pos++
      if (bytes[pos] !== 0x23) break
      while (pos < bytes.length && bytes[pos] !== 0x0a && bytes[pos] !== 0x0d) pos++
    }
    const start = pos
    while (pos < bytes.length && !isSpace(bytes[pos]!) && bytes[pos] !== 0x23) pos++
    if (pos === start) throw new Error('PPM header ends early')
    return new TextDecoder().decode(bytes.subarray(start, pos))
  }
  const number = (what: string): number => {
    const t = token()
    if (!/^\d+$/.test(t)) throw new Error(`PPM ${what} is not a number: ${JSON.stringify(t)}`)
    return Number(t)
  }
  const magic = token()
  if (magic !== 'P6') throw new Error(`not a binary PPM (magic ${JSON.stringify(magic)}, expected "P6")`)
  const width = number('width')
  const height = number('height')
  const maxval = number('maxval')
  if (width < 1 || height < 1) throw new Error(`PPM has an empty size ${width}x${height}`)
  if (maxval < 1 || maxval > 255) throw new Error(`PPM maxval ${maxval} is not 1..255`)
  if (!isSpace(bytes[pos] ?? 0x23)) throw new Error('PPM header must end with one whitespace byte')
  pos++
  const size = width * height * 3
  if (bytes.length - pos !== size) {
    throw new Error(`PPM ${width}x${height} needs ${size} pixel bytes, found ${bytes.length - pos}`)
  }
  return { width, height, rgb: bytes.slice(pos, pos + size) }
}

/** Encodes RGB pixels as a binary PPM, the same bytes the WebAssembly module writes. */
export function encodePpm (width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3) throw new RangeError(`expected ${width * height * 3} RGB bytes, got ${rgb.length}`)
  const header = new TextEncoder().encode(`P6\n${width} ${height}\n255\n`)
  const out = new Uint8Array(header.length + rgb.length)
  out.set(header)
  out.set(rgb, header.length)
  return out
}

/**
 * Pastes tiles (PPM bytes, keyed by tile index) into one width × height RGB image. Every tile must
 * be present and have its clipped size.
 */
export function assembleTiles (width: number, height: number, tileSize: number, tiles: ReadonlyMap<number, Uint8Array>): Uint8Array {
  const count = tileCount(width, height, tileSize)
  const rgb = new Uint8Array(width * height * 3)
  for (let i = 0; i < count; i++) {
    const ppm = tiles.get(i)
    if (ppm === undefined) throw new Error(`tile ${i} of ${count} is missing`)
    const rect = tileRect(i, width, height, tileSize)
    const tile = parsePpm(ppm)
    if (tile.width !== rect.w || tile.height !== rect.h) {
      throw new Error(`tile ${i} is ${tile.width}x${tile.height}, expected ${rect.w}x${rect.h}`)
    }
    const rowBytes = rect.w * 3
    for (let row = 0; row < rect.h; row++) {
      const src = row * rowBytes
      rgb.set(tile.rgb.subarray(src, src + rowBytes), ((rect.y + row) * width + rect.x) * 3)
    }
  }
  return rgb
}

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

/** Writes the colour for smooth iteration count `mu` (or black when `inside`) at rgb[o..o+2]. */
function shade (rgb: Uint8Array, o: number, inside: boolean, mu: number): void {
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
