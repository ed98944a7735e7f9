// One tile of an image rendered as a binary PPM (P6), as the mandelbrot and raytrace examples cut
// a width × height picture into squares of tileSize, numbered row by row.
// A library, not a module: scripts/build-examples.ts compiles it into the modules that import it.

import { errnoToString } from "~lib/bindings/wasi_snapshot_preview1";
import { writeAll, writeFile } from "./wasiFiles";

/** The largest tile's pixel bytes: a task's output stays well inside its default output limit. */
const MAX_PIXEL_BYTES: i64 = 48 * 1024 * 1024;

export class PpmTile {
  /** The tile's left column and top row in the picture, and its size (the last ones may be cut short). */
  x: i32 = 0;
  y: i32 = 0;
  w: i32 = 0;
  h: i32 = 0;
  /** How many tiles the picture has. */
  count: i64 = 0;
  /** The whole file: the P6 header, then `rgb`. */
  ppm: Uint8Array = new Uint8Array(0);
  /** Three bytes a pixel, row by row, for the renderer to fill. */
  rgb: Uint8Array = new Uint8Array(0);
}

/** Tile number `tile` of the picture, with its file allocated; a tile outside it, or too large, goes to `fail`. */
export function ppmTile(width: i64, height: i64, tileSize: i64, tile: i64, fail: (message: string, code: i32) => void): PpmTile {
  const cols = (width + tileSize - 1) / tileSize;
  const rows = (height + tileSize - 1) / tileSize;
  const result = new PpmTile();
  result.count = cols * rows;
  if (tile >= result.count) fail("tile " + tile.toString() + " is outside 0.." + (result.count - 1).toString(), 2);
  result.x = <i32>((tile % cols) * tileSize);
  result.y = <i32>((tile / cols) * tileSize);
  result.w = <i32>min<i64>(tileSize, width - result.x);
  result.h = <i32>min<i64>(tileSize, height - result.y);
  const pixelBytes = <i64>result.w * <i64>result.h * 3;
  if (pixelBytes > MAX_PIXEL_BYTES) fail("tile " + result.w.toString() + "x" + result.h.toString() + " is too large; use a smaller --tile-size", 2);
  const header = String.UTF8.encode("P6\n" + result.w.toString() + " " + result.h.toString() + "\n255\n");
  result.ppm = new Uint8Array(header.byteLength + <i32>pixelBytes);
  memory.copy(result.ppm.dataStart, changetype<usize>(header), <usize>header.byteLength);
  result.rgb = result.ppm.subarray(header.byteLength);
  return result;
}

/** Writes the tile's file to stdout, or to /out/tile.ppm. */
export function writePpm(tile: PpmTile, toStdout: bool, fail: (message: string, code: i32) => void): void {
  if (toStdout) {
    const err = writeAll(1, tile.ppm.dataStart, tile.ppm.length);
    if (err != 0) fail("cannot write stdout: " + errnoToString(err), 1);
  } else {
    writeFile("/out/tile.ppm", tile.ppm, fail);
  }
}
