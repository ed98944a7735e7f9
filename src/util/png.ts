import { crc32, deflateSync } from 'node:zlib'
import { bytesView } from './bytes.ts'

/** The eight bytes every PNG file starts with. */
export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)

/** One chunk: 4-byte big-endian length, 4-byte type, data, CRC-32 over type and data. */
function chunk (type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

function checkSize (width: number, height: number, rgb: Uint8Array): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new RangeError(`PNG size must be positive integers, got ${width}x${height}`)
  }
  if (rgb.length !== width * 3 * height) throw new RangeError(`expected ${width * 3 * height} RGB bytes for ${width}x${height}, got ${rgb.length}`)
}

/** IHDR for 8-bit truecolour (RGB), deflate, filter method 0, no interlace. */
function ihdr (width: number, height: number): Uint8Array {
  const data = new Uint8Array(13)
  const header = new DataView(data.buffer)
  header.setUint32(0, width)
  header.setUint32(4, height)
  data[8] = 8 // bit depth
  data[9] = 2 // colour type: truecolour (RGB)
  return chunk('IHDR', data)
}

/** The compressed image data: every row prefixed by filter type 0 (none), deflated. */
function imageData (width: number, height: number, rgb: Uint8Array): Uint8Array {
  const stride = width * 3
  const raw = new Uint8Array((stride + 1) * height)
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1)
  return new Uint8Array(deflateSync(raw))
}

function concat (parts: Uint8Array[]): Uint8Array {
  return bytesView(Buffer.concat(parts))
}

/**
 * Encodes 8-bit RGB pixels (row-major, 3 bytes a pixel) as a PNG: one IHDR, one IDAT whose rows
 * all use filter 0 (none), and IEND.
 */
export function encodePng (width: number, height: number, rgb: Uint8Array): Uint8Array {
  checkSize(width, height, rgb)
  return concat([PNG_SIGNATURE, ihdr(width, height), chunk('IDAT', imageData(width, height, rgb)), chunk('IEND', new Uint8Array(0))])
}

/**
 * Encodes frames of 8-bit RGB pixels as an animated PNG (APNG) that loops forever, each frame whole
 * and shown for 1/fps s. Viewers without APNG support show the first frame, which is the default image.
 */
export function encodeApng (width: number, height: number, frames: readonly Uint8Array[], fps: number): Uint8Array {
  if (frames.length === 0) throw new RangeError('an animated PNG needs at least one frame')
  if (!Number.isInteger(fps) || fps < 1 || fps > 0xffff) throw new RangeError(`fps must be an integer in 1..65535, got ${fps}`)
  for (const rgb of frames) checkSize(width, height, rgb)
  const actl = new Uint8Array(8)
  new DataView(actl.buffer).setUint32(0, frames.length) // num_plays stays 0: loop forever
  const parts = [PNG_SIGNATURE, ihdr(width, height), chunk('acTL', actl)]
  // fcTL and fdAT chunks share one sequence number, counted from 0.
  let sequence = 0
  frames.forEach((rgb, i) => {
    const fctl = new Uint8Array(26)
    const control = new DataView(fctl.buffer)
    control.setUint32(0, sequence++)
    control.setUint32(4, width)
    control.setUint32(8, height)
    // x and y offsets 0; delay 1/fps s; dispose and blend ops 0 (none, source): each frame is whole.
    control.setUint16(20, 1)
    control.setUint16(22, fps)
    parts.push(chunk('fcTL', fctl))
    const data = imageData(width, height, rgb)
    if (i === 0) {
      parts.push(chunk('IDAT', data))
    } else {
      const fdat = new Uint8Array(4 + data.length)
      new DataView(fdat.buffer).setUint32(0, sequence++)
      fdat.set(data, 4)
      parts.push(chunk('fdAT', fdat))
    }
  })
  parts.push(chunk('IEND', new Uint8Array(0)))
  return concat(parts)
}
