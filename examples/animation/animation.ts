/**
 * CGI on the grid: a ray-traced animation. Every frame is cut in tiles and every tile of every
 * frame is one task (`raytrace --frame F --tile I`); the driver assembles the frames and writes an
 * animated PNG and, with ffmpeg, an MP4. The check: the same module renders every frame whole in
 * this process (no grid: the single-process baseline), and each assembled frame must equal its
 * local render pixel for pixel.
 *
 *   node examples/animation/animation.ts [--width 640] [--height 360] [--tile-size 120] [--frames 48]
 *        [--samples 2] [--fps 24] [--providers 2] [--cores 2] [--out out/animation]
 *
 * Prints a summary and, last, one JSON line.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { encodePng } from '../../src/util/index.ts'
import { EXAMPLES_BUILD_DIR } from '../../scripts/build-examples.ts'
import { exampleRunner } from '../runExample.ts'
import { assembleTiles, parsePpm, tileCount } from '../mandelbrot/tiles.ts'
import { fileBytes, runJob, summaryLine, tasksPerProvider, waitForOffers } from '../grid.ts'
import { hasFfmpeg, writeApng, writeMp4 } from './video.ts'
import { intFlag } from '../flags.ts'

const MODULE = 'raytrace'
const MODULE_PATH = join(EXAMPLES_BUILD_DIR, `${MODULE}.wasm`)

export interface AnimationOptions {
  readonly width?: number
  readonly height?: number
  readonly tileSize?: number
  readonly frames?: number
  /** Samples per pixel along each axis (K × K in all). */
  readonly samples?: number
  readonly fps?: number
  readonly providers?: number
  readonly coresPerProvider?: number
  /** Where the animation goes (animation.png, animation.mp4 and still.png). */
  readonly outDir?: string
  readonly log?: (line: string) => void
}

export interface AnimationReport {
  readonly width: number
  readonly height: number
  readonly frames: number
  readonly tilesPerFrame: number
  readonly tasks: number
  /** Tasks done per provider. */
  readonly providers: Map<string, number>
  /** Submit to last result on the grid. */
  readonly gridSeconds: number
  /** Rendering every frame whole, one after another, in this process. */
  readonly baselineSeconds: number
  /** Frames whose assembled pixels differ from the local render. */
  readonly mismatchedFrames: number[]
  readonly verified: boolean
  /** The assembled frames, RGB. */
  readonly rgbFrames: Uint8Array[]
  readonly apngPath: string
  /** Absent without ffmpeg. */
  readonly mp4Path: string | undefined
  readonly stillPath: string
}

export function raytraceArgs (o: { width: number, height: number, tileSize: number, tile: number | string, frame: number, frames: number, samples: number }): string[] {
  return ['--width', String(o.width), '--height', String(o.height), '--tile-size', String(o.tileSize), '--tile', String(o.tile),
    '--frame', String(o.frame), '--frames', String(o.frames), '--samples', String(o.samples)]
}

export async function runAnimation (options: AnimationOptions = {}): Promise<AnimationReport> {
  const { width = 640, height = 360, tileSize = 120, frames = 48, samples = 2, fps = 24, providers: providerCount = 2, coresPerProvider = 2, outDir = 'out/animation' } = options
  const log = options.log ?? (() => {})
  const tilesPerFrame = tileCount(width, height, tileSize)
  const runner = await exampleRunner(MODULE)
  let local: Uint8Array[]
  let baselineSeconds: number
  try {
    // The baseline and reference: each frame as one tile, rendered here.
    const started = performance.now()
    local = []
    for (let frame = 0; frame < frames; frame++) {
      const result = await runner.run(raytraceArgs({ width, height, tileSize: Math.max(width, height), tile: 0, frame, frames, samples }), { timeoutMs: 600_000 })
      if (result.exitCode !== 0) throw new Error(`the local render of frame ${frame} failed: ${result.stderr}`)
      local.push(parsePpm(result.files.get('tile.ppm')!).rgb)
    }
    baselineSeconds = (performance.now() - started) / 1000
    log(`single process: ${frames} frames of ${width}x${height} in ${baselineSeconds.toFixed(2)} s`)
  } finally {
    await runner.close()
  }

  const grid = await startLocalGrid({ providers: providerCount, coresPerProvider })
  let rgbFrames: Uint8Array[]
  let job: Awaited<ReturnType<typeof runJob>>
  try {
    const client = grid.requester.client
    await waitForOffers(client, providerCount)
    // Frame by frame, so the first frames are whole (and on the dashboard) while later ones render.
    const tasks = Array.from({ length: frames * tilesPerFrame }, (_, i) => ({
      args: raytraceArgs({ width, height, tileSize, tile: i % tilesPerFrame, frame: Math.floor(i / tilesPerFrame), frames, samples }),
    }))
    job = await runJob(client, { name: 'animation', runtime: 'wasi', module: MODULE_PATH, tasks, limits: { memoryMb: 64, timeoutMs: 120_000 } })
    log(`grid: ${tasks.length} tasks in ${job.seconds.toFixed(2)} s`)
    const tiles = Array.from({ length: frames }, () => new Map<number, Uint8Array>())
    for (const task of job.tasks) tiles[Math.floor(task.idx / tilesPerFrame)]!.set(task.idx % tilesPerFrame, await fileBytes(client, task, 'tile.ppm'))
    rgbFrames = tiles.map(frameTiles => assembleTiles(width, height, tileSize, frameTiles))
  } finally {
    await grid.stop()
  }
  const mismatchedFrames = rgbFrames.flatMap((rgb, frame) => Buffer.from(rgb).equals(local[frame]!) ? [] : [frame])

  const dir = resolve(outDir)
  await mkdir(dir, { recursive: true })
  const apngPath = join(dir, 'animation.png')
  await writeApng(apngPath, width, height, rgbFrames, fps)
  const stillPath = join(dir, 'still.png')
  await writeFile(stillPath, encodePng(width, height, rgbFrames[Math.floor(frames / 3)]!))
  let mp4Path: string | undefined
  if (hasFfmpeg()) {
    mp4Path = join(dir, 'animation.mp4')
    await writeMp4(mp4Path, width, height, rgbFrames, fps)
  } else {
    log('ffmpeg is not installed: wrote the animated PNG only')
  }
  return {
    width,
    height,
    frames,
    tilesPerFrame,
    tasks: job.tasks.length,
    providers: tasksPerProvider(job.tasks),
    gridSeconds: job.seconds,
    baselineSeconds,
    mismatchedFrames,
    verified: mismatchedFrames.length === 0,
    rgbFrames,
    apngPath,
    mp4Path,
    stillPath,
  }
}

export function formatAnimationReport (report: AnimationReport): string {
  return [
    `${report.frames} frames of ${report.width}x${report.height}, ${report.tilesPerFrame} tiles each: ${report.tasks} tasks`,
    ...[...report.providers].map(([peer, tasks]) => `  provider …${peer.slice(-8)}: ${tasks} tasks`),
    `grid: ${report.gridSeconds.toFixed(2)} s; single process: ${report.baselineSeconds.toFixed(2)} s`,
    `frames equal to the local render, pixel for pixel: ${report.frames - report.mismatchedFrames.length} of ${report.frames}` +
      (report.mismatchedFrames.length === 0 ? '' : ` (differ: ${report.mismatchedFrames.join(', ')})`),
    `animated PNG: ${report.apngPath}`,
    `MP4: ${report.mp4Path ?? 'not written (no ffmpeg)'}`,
    `still: ${report.stillPath}`,
  ].join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      width: { type: 'string', default: '640' },
      height: { type: 'string', default: '360' },
      'tile-size': { type: 'string', default: '120' },
      frames: { type: 'string', default: '48' },
      samples: { type: 'string', default: '2' },
      fps: { type: 'string', default: '24' },
      providers: { type: 'string', default: '2' },
      cores: { type: 'string', default: '2' },
      out: { type: 'string', default: 'out/animation' },
    },
  })
  const started = Date.now()
  const report = await runAnimation({
    width: intFlag(values, 'width'),
    height: intFlag(values, 'height'),
    tileSize: intFlag(values, 'tile-size'),
    frames: intFlag(values, 'frames'),
    samples: intFlag(values, 'samples'),
    fps: intFlag(values, 'fps'),
    providers: intFlag(values, 'providers'),
    coresPerProvider: intFlag(values, 'cores'),
    outDir: values.out,
    log: line => console.error(line),
  })
  console.log(formatAnimationReport(report))
  console.log(summaryLine({ name: 'animation', category: 'cgi', verified: report.verified, wallS: (Date.now() - started) / 1000, baselineS: report.baselineSeconds, tasks: report.tasks, providers: report.providers.size, gridS: report.gridSeconds }))
  if (!report.verified) process.exitCode = 1
}
