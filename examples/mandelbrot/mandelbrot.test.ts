import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { exampleRunner } from '../runExample.ts'
import type { ExampleRun } from '../runExample.ts'
import { assembleTiles, encodePpm, parsePpm, renderTileJs, tileCount, tileRect } from './tiles.ts'

let runner: Awaited<ReturnType<typeof exampleRunner>>

before(async () => {
  runner = await exampleRunner('mandelbrot')
})

after(async () => {
  await runner?.close()
})

const run = (args: string[]): Promise<ExampleRun> => runner.run(args)

function tileArgs (width: number, height: number, tileSize: number, tile: number, maxIter: number): string[] {
  return ['--width', String(width), '--height', String(height), '--tile-size', String(tileSize), '--tile', String(tile), '--max-iter', String(maxIter)]
}

async function renderTileWasm (width: number, height: number, tileSize: number, tile: number, maxIter: number): Promise<Uint8Array> {
  const result = await run(tileArgs(width, height, tileSize, tile, maxIter))
  assert.equal(result.exitCode, 0, result.stderr)
  const ppm = result.files.get('tile.ppm')
  assert.ok(ppm, `tile ${tile} wrote no /out/tile.ppm (files: ${[...result.files.keys()].join(', ')})`)
  return ppm
}

test('tile geometry: counts, row-major order and clipped edges', () => {
  assert.equal(tileCount(1280, 960, 80), 192)
  assert.equal(tileCount(300, 200, 64), 20)
  assert.equal(tileCount(1, 1, 80), 1)
  assert.deepEqual(tileRect(0, 300, 200, 64), { x: 0, y: 0, w: 64, h: 64 })
  assert.deepEqual(tileRect(4, 300, 200, 64), { x: 256, y: 0, w: 44, h: 64 })
  assert.deepEqual(tileRect(5, 300, 200, 64), { x: 0, y: 64, w: 64, h: 64 })
  assert.deepEqual(tileRect(19, 300, 200, 64), { x: 256, y: 192, w: 44, h: 8 })
  assert.throws(() => tileRect(20, 300, 200, 64), RangeError)
  assert.throws(() => tileRect(-1, 300, 200, 64), RangeError)
  assert.throws(() => tileCount(0, 10, 10), RangeError)
})

test('PPM: encode/parse round trip, comments, and malformed input', () => {
  const rgb = Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => i * 7)
  const parsed = parsePpm(encodePpm(2, 3, rgb))
  assert.equal(parsed.width, 2)
  assert.equal(parsed.height, 3)
  assert.deepEqual(parsed.rgb, rgb)
  const withComment = new Uint8Array([...new TextEncoder().encode('P6 # made by hand\n1 1\n255\n'), 1, 2, 3])
  assert.deepEqual(parsePpm(withComment).rgb, Uint8Array.of(1, 2, 3))
  assert.throws(() => parsePpm(new TextEncoder().encode('P3\n1 1\n255\n1 2 3')), /P6/)
  assert.throws(() => parsePpm(encodePpm(2, 3, rgb).subarray(0, 20)), /pixel bytes/)
})

test('wasm tiles equal the TypeScript reference pixel for pixel, edge tiles included', async () => {
  // 300 × 200 in 64-pixel tiles: a 5 × 4 grid whose last column is 44 wide and last row 8 high.
  for (const tile of [0, 7, 4, 15, 19]) {
    const ppm = await renderTileWasm(300, 200, 64, tile, 200)
    const got = parsePpm(ppm)
    const want = renderTileJs(300, 200, 64, tile, 200)
    const rect = tileRect(tile, 300, 200, 64)
    assert.equal(got.width, rect.w, `tile ${tile} width`)
    assert.equal(got.height, rect.h, `tile ${tile} height`)
    assert.ok(Buffer.from(got.rgb).equals(want.rgb), `tile ${tile} pixels differ from renderTileJs`)
    assert.deepEqual(ppm, encodePpm(want.width, want.height, want.rgb), `tile ${tile} PPM bytes`)
  }
  // Two tiles of the job as configured in job.json: plain background, and the busy edge of the set.
  for (const tile of [0, 84]) {
    const got = parsePpm(await renderTileWasm(1280, 960, 80, tile, 500))
    assert.ok(Buffer.from(got.rgb).equals(renderTileJs(1280, 960, 80, tile, 500).rgb), `job tile ${tile} differs`)
  }
})

test('the same tile renders to the same bytes every run', async () => {
  const a = await renderTileWasm(1280, 960, 80, 100, 500)
  const b = await renderTileWasm(1280, 960, 80, 100, 500)
  assert.deepEqual(a, b)
})

test('tiles assemble into the full image, seamlessly', async () => {
  const width = 160
  const height = 120
  const tileSize = 48 // 4 × 3 tiles, clipped on the right (16 wide) and bottom (24 high)
  const tiles = new Map<number, Uint8Array>()
  for (let i = 0; i < tileCount(width, height, tileSize); i++) tiles.set(i, await renderTileWasm(width, height, tileSize, i, 300))
  const image = assembleTiles(width, height, tileSize, tiles)
  assert.equal(image.length, width * height * 3)
  // One tile covering everything must give the same picture.
  const whole = parsePpm(await renderTileWasm(width, height, Math.max(width, height), 0, 300))
  assert.equal(whole.width, width)
  assert.equal(whole.height, height)
  assert.ok(Buffer.from(image).equals(whole.rgb), 'assembled tiles differ from a single-tile render')
  // The picture is not blank: the set is black, the outside coloured.
  const colours = new Set<number>()
  for (let p = 0; p < image.length; p += 3) colours.add((image[p]! << 16) | (image[p + 1]! << 8) | image[p + 2]!)
  assert.ok(colours.has(0), 'no black pixels (points inside the set)')
  assert.ok(colours.size > 100, `only ${colours.size} distinct colours`)

  tiles.delete(3)
  assert.throws(() => assembleTiles(width, height, tileSize, tiles), /tile 3 of 12 is missing/)
})

test('--stdout writes the same PPM to standard output and nothing to /out', async () => {
  const result = await run([...tileArgs(300, 200, 64, 19, 100), '--stdout'])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.equal(result.files.size, 0)
  const want = renderTileJs(300, 200, 64, 19, 100)
  assert.deepEqual(result.stdout, encodePpm(want.width, want.height, want.rgb))
  assert.match(result.stderr, /^mandelbrot: tile 19 of 20 at \(256,192\) 44x8/)
})

test('bad arguments exit with status 2 and say why', async () => {
  const outside = await run(tileArgs(300, 200, 64, 20, 100))
  assert.equal(outside.exitCode, 2)
  assert.match(outside.stderr, /tile 20 is outside 0\.\.19/)
  const missing = await run(['--width', '10'])
  assert.equal(missing.exitCode, 2)
  assert.match(missing.stderr, /missing options/)
  const garbage = await run(tileArgs(300, 200, 64, 0, 100).map((a) => (a === '300' ? '3e2' : a)))
  assert.equal(garbage.exitCode, 2)
  assert.match(garbage.stderr, /--width must be an integer/)
  const unknown = await run([...tileArgs(300, 200, 64, 0, 100), '--zoom', '2'])
  assert.equal(unknown.exitCode, 2)
  assert.match(unknown.stderr, /unknown option --zoom/)
})

test('job.json describes one task per tile of the built module', () => {
  const jobPath = resolve(import.meta.dirname, 'job.json')
  const job = JSON.parse(readFileSync(jobPath, 'utf8')) as {
    name: string, runtime: string, module: string, range: { count: number, args: string[] }
  }
  assert.equal(job.runtime, 'wasi')
  assert.ok(existsSync(resolve(import.meta.dirname, job.module)), `${job.module} does not exist relative to job.json`)
  const arg = (flag: string): number => Number(job.range.args[job.range.args.indexOf(flag) + 1])
  assert.equal(job.range.count, tileCount(arg('--width'), arg('--height'), arg('--tile-size')))
  assert.ok(job.range.args.includes('{i}'))
})
