/** Binary PPM (P6) images: what tasks that render pictures write, and how they are read back. */

export interface Image {
  readonly width: number
  readonly height: number
  /** Row-major RGB, 3 bytes a pixel. */
  readonly rgb: Uint8Array
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
