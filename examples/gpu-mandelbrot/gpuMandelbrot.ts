/**
 * CGI on GPUs: the Mandelbrot picture of examples/mandelbrot, one WebGPU task per tile (the kernel
 * in mandelbrot.wgsl, f32), coloured by the requester with the WASI example's palette. The reference
 * is the WASI picture (its TypeScript twin, equal to it pixel for pixel); f32 against f64 moves the
 * colour of pixels where the iteration is chaotic, at the set's edge, so the picture must be within
 * tolerance of it, not equal: at most MAX_OFF_PIXELS of the pixels may have a channel more than
 * CHANNEL_TOLERANCE away. Replicas (--replication) compare the tiles' mu values under
 * compare.tolerance. Providers offer `webgpu` on their GPU, or on SwiftShader where there is none.
 *
 *   node examples/gpu-mandelbrot/gpuMandelbrot.ts [--width 1280] [--height 960] [--tile-size 160]
 *        [--max-iter 1000] [--providers 1] [--replication 1] [--out out/gpu-mandelbrot]
 *
 * Writes <out>/mandelbrot.png, prints a summary and, last, one JSON line.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { encodePng } from '../../src/util/index.ts'
import { fileBytes, runJob, summaryLine, tasksPerProvider, waitForOffers } from '../grid.ts'
import { assembleTiles, encodePpm, renderTileJs, shade, tileCount, tileRect } from '../mandelbrot/tiles.ts'
import { intFlag } from '../flags.ts'

const KERNEL = new URL('./mandelbrot.wgsl', import.meta.url).pathname
/** A pixel is off when one of its channels is further than this from the WASI picture's… */
export const CHANNEL_TOLERANCE = 8
/** …and the picture is within tolerance when at most this share of its pixels are off. */
export const MAX_OFF_PIXELS = 0.01
/** Replicas' mu agree within this: f32 rounding and the GPUs' log2, far below a colour step. */
const MU_TOLERANCE = { type: 'f32', rel: 1e-4, abs: 1e-4 } as const
/** The kernel's workgroup edge. */
const WORKGROUP = 8

export interface GpuMandelbrotOptions {
  readonly width?: number
  readonly height?: number
  readonly tileSize?: number
  readonly maxIter?: number
  readonly providers?: number
  readonly replication?: number
  readonly outDir?: string
}

export interface GpuMandelbrotReport {
  readonly width: number
  readonly height: number
  readonly tasks: number
  readonly providers: Map<string, number>
  /** Pixels with a channel more than CHANNEL_TOLERANCE from the WASI picture's, as a share of all. */
  readonly offPixels: number
  readonly verified: boolean
  readonly gridSeconds: number
  /** The WASI renderer's TypeScript twin, whole picture, one process. */
  readonly baselineSeconds: number
  readonly pngPath: string
}

/** A tile's colours from its mu values (-1: inside, black). */
function colourTile (mu: Float32Array, w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3)
  for (let p = 0; p < w * h; p++) shade(rgb, p * 3, mu[p]! < 0, mu[p]!)
  return encodePpm(w, h, rgb)
}

/** Share of pixels with a channel further than CHANNEL_TOLERANCE apart. */
export function offPixels (picture: Uint8Array, reference: Uint8Array): number {
  let off = 0
  for (let p = 0; p < reference.length; p += 3) {
    if (Math.max(Math.abs(picture[p]! - reference[p]!), Math.abs(picture[p + 1]! - reference[p + 1]!), Math.abs(picture[p + 2]! - reference[p + 2]!)) > CHANNEL_TOLERANCE) off++
  }
  return off / (reference.length / 3)
}

export async function runGpuMandelbrot (options: GpuMandelbrotOptions = {}): Promise<GpuMandelbrotReport> {
  const { width = 1280, height = 960, tileSize = 160, maxIter = 1000, providers = 1, replication = 1, outDir = 'out/gpu-mandelbrot' } = options
  const started = performance.now()
  const reference = renderTileJs(width, height, Math.max(width, height), 0, maxIter).rgb
  const baselineSeconds = (performance.now() - started) / 1000

  const grid = await startLocalGrid({ providers: 0, coresPerProvider: 1 })
  let picture: Uint8Array
  let job: Awaited<ReturnType<typeof runJob>>
  try {
    await Promise.all(Array.from({ length: providers }, () => grid.addProvider({ flags: ['--runtimes', 'webgpu', '--software-gpu'] })))
    const client = grid.requester.client
    await waitForOffers(client, providers)
    const groups = Math.ceil(tileSize / WORKGROUP)
    job = await runJob(client, {
      name: 'gpu-mandelbrot',
      runtime: 'webgpu',
      module: KERNEL,
      gpu: {
        buffers: [{ name: 'params', binding: 0, params: 'u32' }, { name: 'mu', binding: 1, output: 'mu.bin', size: tileSize * tileSize * 4 }],
        passes: [{ entry: 'render', dispatch: [groups, groups] }],
      },
      range: { count: tileCount(width, height, tileSize), args: [String(width), String(height), String(tileSize), '{i}', String(maxIter)] },
      limits: { memoryMb: Math.ceil(tileSize * tileSize * 4 / 2 ** 20) + 1, timeoutMs: 600_000 },
      replication,
      compare: { tolerance: { 'mu.bin': MU_TOLERANCE } },
    })
    const tiles = new Map<number, Uint8Array>()
    for (const task of job.tasks) {
      const { w, h } = tileRect(task.idx, width, height, tileSize)
      tiles.set(task.idx, colourTile(new Float32Array((await fileBytes(client, task, 'mu.bin')).slice().buffer, 0, w * h), w, h))
    }
    picture = assembleTiles(width, height, tileSize, tiles)
  } finally {
    await grid.stop()
  }
  const dir = resolve(outDir)
  await mkdir(dir, { recursive: true })
  const pngPath = join(dir, 'mandelbrot.png')
  await writeFile(pngPath, encodePng(width, height, picture))
  const off = offPixels(picture, reference)
  return { width, height, tasks: job.tasks.length, providers: tasksPerProvider(job.tasks), offPixels: off, verified: off <= MAX_OFF_PIXELS, gridSeconds: job.seconds, baselineSeconds, pngPath }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      width: { type: 'string', default: '1280' },
      height: { type: 'string', default: '960' },
      'tile-size': { type: 'string', default: '160' },
      'max-iter': { type: 'string', default: '1000' },
      providers: { type: 'string', default: '1' },
      replication: { type: 'string', default: '1' },
      out: { type: 'string', default: 'out/gpu-mandelbrot' },
    },
  })
  const started = Date.now()
  const report = await runGpuMandelbrot({
    width: intFlag(values, 'width'),
    height: intFlag(values, 'height'),
    tileSize: intFlag(values, 'tile-size'),
    maxIter: intFlag(values, 'max-iter'),
    providers: intFlag(values, 'providers'),
    replication: intFlag(values, 'replication'),
    outDir: values.out,
  })
  console.log([
    `${report.width}x${report.height} in ${report.tasks} webgpu tiles: ${(report.offPixels * 100).toFixed(3)} % of pixels more than ${CHANNEL_TOLERANCE} off the WASI picture (at most ${MAX_OFF_PIXELS * 100} % allowed): ${report.verified ? 'within tolerance' : 'OUTSIDE tolerance'}`,
    ...[...report.providers].map(([peer, tasks]) => `  provider …${peer.slice(-8)}: ${tasks} tasks`),
    `grid: ${report.gridSeconds.toFixed(2)} s; the WASI renderer's twin in one process: ${report.baselineSeconds.toFixed(2)} s`,
    `picture: ${report.pngPath}`,
  ].join('\n'))
  console.log(summaryLine({ name: 'gpu-mandelbrot', category: 'cgi', verified: report.verified, wallS: (Date.now() - started) / 1000, baselineS: report.baselineSeconds, tasks: report.tasks, providers: report.providers.size, gridS: report.gridSeconds }))
  if (!report.verified) process.exitCode = 1
}
