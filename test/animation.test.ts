// The CGI animation example at a small size: the ray tracer's tiles on a real local grid, assembled
// into frames that must equal a local render pixel for pixel, and turned into an animated PNG and
// an MP4 that ffmpeg decodes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { formatAnimationReport, raytraceArgs, runAnimation } from '../examples/animation/animation.ts'
import { ffmpeg } from '../examples/animation/video.ts'
import { exampleRunner } from '../examples/runExample.ts'
import { assembleTiles, parsePpm, tileCount, tileRect } from '../examples/mandelbrot/tiles.ts'
import { tempDir } from './helpers.ts'

test('the ray tracer: tiles paste into exactly the whole frame, renders repeat, frames move, bad arguments say why', async (t) => {
  const runner = await exampleRunner('raytrace')
  t.after(() => runner.close())
  const render = async (tileSize: number, tile: number, frame: number) => {
    const result = await runner.run(raytraceArgs({ width: 100, height: 60, tileSize, tile, frame, frames: 8, samples: 2 }))
    assert.equal(result.exitCode, 0, result.stderr)
    return result.files.get('tile.ppm')!
  }
  // 100 × 60 in 32-pixel tiles: 4 × 2, the last column 4 wide and the last row 28 high.
  const tiles = new Map<number, Uint8Array>()
  for (let i = 0; i < tileCount(100, 60, 32); i++) {
    const tile = parsePpm(await render(32, i, 3))
    const rect = tileRect(i, 100, 60, 32)
    assert.deepEqual([tile.width, tile.height], [rect.w, rect.h], `tile ${i} size`)
    tiles.set(i, await render(32, i, 3))
  }
  const whole = parsePpm(await render(100, 0, 3))
  assert.ok(Buffer.from(assembleTiles(100, 60, 32, tiles)).equals(whole.rgb), 'assembled tiles differ from the whole frame')
  assert.deepEqual(await render(100, 0, 3), await render(100, 0, 3))
  assert.ok(!Buffer.from(parsePpm(await render(100, 0, 4)).rgb).equals(whole.rgb), 'the camera did not move between frames')
  const colours = new Set<number>()
  for (let p = 0; p < whole.rgb.length; p += 3) colours.add((whole.rgb[p]! << 16) | (whole.rgb[p + 1]! << 8) | whole.rgb[p + 2]!)
  assert.ok(colours.size > 500, `only ${colours.size} distinct colours`)

  const fails = async (args: string[], message: RegExp) => {
    const bad = await runner.run(args)
    assert.equal(bad.exitCode, 2, `${args.join(' ')} exited ${bad.exitCode}`)
    assert.match(bad.stderr, message)
  }
  await fails(raytraceArgs({ width: 100, height: 60, tileSize: 32, tile: 8, frame: 0, frames: 8, samples: 1 }), /tile 8 is outside 0\.\.7/)
  await fails(raytraceArgs({ width: 100, height: 60, tileSize: 32, tile: 0, frame: 8, frames: 8, samples: 1 }), /frame 8 is outside 0\.\.7/)
  await fails(['--width', '100'], /missing options/)
  await fails([...raytraceArgs({ width: 100, height: 60, tileSize: 32, tile: 0, frame: 0, frames: 8, samples: 1 }), '--fov', '90'], /unknown option --fov/)
})

test('on a grid, every assembled frame equals the local render, and the APNG and MP4 decode to the frames', async (t) => {
  const dir = await tempDir('animation')
  t.after(() => rm(dir, { recursive: true, force: true }))
  const report = await runAnimation({ width: 96, height: 54, tileSize: 32, frames: 4, samples: 1, fps: 8, providers: 2, coresPerProvider: 1, outDir: dir })
  console.log(formatAnimationReport(report))
  assert.equal(report.tilesPerFrame, 6)
  assert.equal(report.tasks, 24)
  assert.equal([...report.providers.values()].reduce((sum, n) => sum + n, 0), 24)
  assert.deepEqual(report.mismatchedFrames, [])
  assert.equal(report.verified, true)

  // ffmpeg, an independent decoder, reads the lossless APNG back to exactly the frames.
  const decoded = await ffmpeg(['-i', report.apngPath, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'])
  assert.ok(decoded.equals(Buffer.concat(report.rgbFrames)), 'the APNG does not decode to the frames')
  assert.ok(report.mp4Path !== undefined, 'no MP4 although ffmpeg is installed')
  // The MP4 is lossy (H.264, 4:2:0 chroma): it holds the 4 frames, each close to its original.
  const video = await ffmpeg(['-i', report.mp4Path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'])
  const frameBytes = 96 * 54 * 3
  assert.equal(video.length, frameBytes * 4, 'the MP4 does not hold 4 frames of 96x54')
  report.rgbFrames.forEach((rgb, frame) => {
    let error = 0
    for (let i = 0; i < frameBytes; i++) error += Math.abs(video[frame * frameBytes + i]! - rgb[i]!)
    const mean = error / frameBytes
    console.log(`MP4 frame ${frame}: mean absolute error ${mean.toFixed(2)} of 255`)
    assert.ok(mean < 12, `MP4 frame ${frame} is far from the rendered one (mean error ${mean.toFixed(2)})`)
  })
})
