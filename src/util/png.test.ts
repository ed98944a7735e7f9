import { test } from 'node:test'
import assert from 'node:assert/strict'
import { crc32, inflateSync } from 'node:zlib'
import { encodeApng, encodePng, PNG_SIGNATURE } from './png.ts'

interface Chunk {
  readonly type: string
  readonly data: Uint8Array
  readonly crc: number
  /** CRC-32 of type + data, recomputed. */
  readonly expectedCrc: number
}

function readChunks (png: Uint8Array): Chunk[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  const chunks: Chunk[] = []
  let pos = PNG_SIGNATURE.length
  while (pos < png.length) {
    const length = view.getUint32(pos)
    const type = String.fromCharCode(...png.subarray(pos + 4, pos + 8))
    const data = png.subarray(pos + 8, pos + 8 + length)
    const crc = view.getUint32(pos + 8 + length)
    chunks.push({ type, data, crc, expectedCrc: crc32(png.subarray(pos + 4, pos + 8 + length)) })
    pos += 12 + length
  }
  assert.equal(pos, png.length, 'chunks overrun the file')
  return chunks
}

function pixels (width: number, height: number): Uint8Array {
  return Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + (i >> 5)) & 0xff)
}

test('a PNG has the signature, IHDR, IDAT and IEND with correct CRCs', () => {
  const png = encodePng(5, 3, pixels(5, 3))
  assert.deepEqual(png.subarray(0, 8), Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))
  const chunks = readChunks(png)
  assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'IDAT', 'IEND'])
  for (const c of chunks) assert.equal(c.crc, c.expectedCrc, `${c.type} CRC`)

  const ihdr = chunks[0]!.data
  assert.equal(ihdr.length, 13)
  const header = new DataView(ihdr.buffer, ihdr.byteOffset, ihdr.byteLength)
  assert.equal(header.getUint32(0), 5, 'width')
  assert.equal(header.getUint32(4), 3, 'height')
  assert.deepEqual([...ihdr.subarray(8)], [8, 2, 0, 0, 0], 'bit depth 8, RGB, deflate, filter 0, no interlace')
  assert.equal(chunks[2]!.data.length, 0)
})

test('IDAT inflates to each row prefixed by filter byte 0, then the pixels unchanged', () => {
  for (const [width, height] of [[1, 1], [7, 4], [64, 33]] as const) {
    const rgb = pixels(width, height)
    const idat = readChunks(encodePng(width, height, rgb)).find((c) => c.type === 'IDAT')!.data
    const raw = new Uint8Array(inflateSync(idat))
    const stride = width * 3
    assert.equal(raw.length, (stride + 1) * height)
    const back = new Uint8Array(stride * height)
    for (let y = 0; y < height; y++) {
      assert.equal(raw[y * (stride + 1)], 0, `row ${y} filter`)
      back.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride)
    }
    assert.deepEqual(back, rgb)
  }
})

test('the CRC matches the PNG specification on a known chunk', () => {
  // IEND's CRC is fixed by the spec: AE 42 60 82.
  const png = encodePng(1, 1, Uint8Array.of(1, 2, 3))
  assert.deepEqual([...png.subarray(png.length - 4)], [0xae, 0x42, 0x60, 0x82])
})

test('a size that does not match the pixels is refused', () => {
  assert.throws(() => encodePng(2, 2, new Uint8Array(11)), RangeError)
  assert.throws(() => encodePng(0, 2, new Uint8Array(0)), RangeError)
  assert.throws(() => encodePng(1.5, 2, new Uint8Array(9)), RangeError)
})

test('an animated PNG: acTL, then per frame fcTL and IDAT (first) or fdAT, one sequence, each frame inflating to its pixels', () => {
  const frames = [pixels(6, 4), pixels(6, 4).map((v) => 255 - v), new Uint8Array(6 * 4 * 3)]
  const chunks = readChunks(encodeApng(6, 4, frames, 12))
  for (const c of chunks) assert.equal(c.crc, c.expectedCrc, `${c.type} CRC`)
  assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'acTL', 'fcTL', 'IDAT', 'fcTL', 'fdAT', 'fcTL', 'fdAT', 'IEND'])
  const u32 = (data: Uint8Array, at: number) => new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(at)
  const u16 = (data: Uint8Array, at: number) => new DataView(data.buffer, data.byteOffset, data.byteLength).getUint16(at)
  assert.equal(u32(chunks[1]!.data, 0), 3, 'frame count')
  assert.equal(u32(chunks[1]!.data, 4), 0, 'loops forever')
  const sequenced = chunks.filter((c) => c.type === 'fcTL' || c.type === 'fdAT')
  assert.deepEqual(sequenced.map((c) => u32(c.data, 0)), [0, 1, 2, 3, 4])
  for (const fctl of chunks.filter((c) => c.type === 'fcTL')) {
    assert.deepEqual([u32(fctl.data, 4), u32(fctl.data, 8), u32(fctl.data, 12), u32(fctl.data, 16)], [6, 4, 0, 0], 'whole-frame region')
    assert.deepEqual([u16(fctl.data, 20), u16(fctl.data, 22), fctl.data[24], fctl.data[25]], [1, 12, 0, 0], '1/12 s, no dispose, source blend')
  }
  const images = chunks.filter((c) => c.type === 'IDAT' || c.type === 'fdAT').map((c) => c.type === 'IDAT' ? c.data : c.data.subarray(4))
  images.forEach((data, i) => {
    const raw = new Uint8Array(inflateSync(data))
    const back = new Uint8Array(6 * 4 * 3)
    for (let y = 0; y < 4; y++) back.set(raw.subarray(y * 19 + 1, (y + 1) * 19), y * 18)
    assert.deepEqual(back, frames[i], `frame ${i}`)
  })
  assert.throws(() => encodeApng(6, 4, [], 12), RangeError)
  assert.throws(() => encodeApng(6, 4, frames, 0), RangeError)
  assert.throws(() => encodeApng(6, 4, [new Uint8Array(5)], 12), RangeError)
})
