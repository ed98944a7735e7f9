import { parsePpm } from './ppm.ts'

/** Images rendered as square tiles, one per task, row by row. */

export interface TileRect {
  readonly x: number
  readonly y: number
  readonly w: number
  readonly h: number
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
