/**
 * Image jobs (the Mandelbrot example): every task renders one tile, named by --tile, of a
 * --width × --height picture cut in --tile-size squares, into /out/<name>.ppm. The dashboard
 * paints each tile as its result arrives. Animations (the ray-traced example) add --frame: the
 * dashboard shows the latest frame that has tiles, filling in over the one before.
 */
import { parsePpm, tileRect } from '../../util/index.ts'
import type { StoredOutput } from '../../validation/index.ts'

export interface MosaicGeometry {
  readonly width: number
  readonly height: number
  readonly tileSize: number
}

function flag (args: readonly string[], name: string): number | undefined {
  const at = args.indexOf(name)
  const value = at >= 0 ? Number(args[at + 1]) : NaN
  return Number.isSafeInteger(value) && value > 0 ? value : undefined
}

/** The picture's geometry, when the tasks' arguments describe tiles of one. */
export function mosaicGeometry (args: readonly string[] | undefined): MosaicGeometry | undefined {
  if (args === undefined || tileIndex(args) === undefined) return undefined
  const width = flag(args, '--width')
  const height = flag(args, '--height')
  const tileSize = flag(args, '--tile-size')
  return width === undefined || height === undefined || tileSize === undefined ? undefined : { width, height, tileSize }
}

function index (args: readonly string[], name: string): number | undefined {
  const at = args.indexOf(name)
  const value = at >= 0 ? Number(args[at + 1]) : NaN
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

export function tileIndex (args: readonly string[]): number | undefined {
  return index(args, '--tile')
}

/** The frame of an animation a task renders; undefined for a still picture. */
export function frameIndex (args: readonly string[]): number | undefined {
  return index(args, '--frame')
}

/** How many frames an animation has (--frames), when the tasks say. */
export function frameCount (args: readonly string[]): number | undefined {
  return flag(args, '--frames')
}

export function tileOutput (outputs: readonly StoredOutput[]): StoredOutput | undefined {
  return outputs.find(output => output.kind === 'file' && output.path.endsWith('.ppm'))
}

/** Paints one tile (a PPM) at its place on the canvas. */
export function paintTile (canvas: HTMLCanvasElement, geometry: MosaicGeometry, tile: number, ppm: Uint8Array): void {
  const image = parsePpm(ppm)
  const rect = tileRect(tile, geometry.width, geometry.height, geometry.tileSize)
  const pixels = new ImageData(image.width, image.height)
  for (let i = 0, j = 0; i < image.rgb.length; i += 3, j += 4) {
    pixels.data[j] = image.rgb[i]!
    pixels.data[j + 1] = image.rgb[i + 1]!
    pixels.data[j + 2] = image.rgb[i + 2]!
    pixels.data[j + 3] = 255
  }
  canvas.getContext('2d')!.putImageData(pixels, rect.x, rect.y)
}
