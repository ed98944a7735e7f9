/**
 * CGI (a still) on the grid: a Mandelbrot picture cut in tiles, one task each, pasted together by
 * the requester. The single-process baseline is the same module rendering the whole picture here;
 * the reference is the TypeScript twin of the renderer (tiles.ts), which must give every pixel.
 *
 *   node examples/mandelbrot/mandelbrot.ts [--width 3840] [--height 2880] [--tile-size 160]
 *        [--max-iter 5000] [--providers 2] [--cores 2] [--out out/mandelbrot]
 *
 * Writes <out>/mandelbrot.png, prints a summary and, last, one JSON line.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { encodePng } from '../../src/util/index.ts'
import { EXAMPLES_BUILD_DIR } from '../../scripts/build-examples.ts'
import { exampleRunner } from '../runExample.ts'
import { fileBytes, runJob, summaryLine, tasksPerProvider, waitForOffers } from '../grid.ts'
import { assembleTiles, parsePpm, renderTileJs, tileCount } from './tiles.ts'
import { intFlag } from '../flags.ts'

const MODULE_PATH = join(EXAMPLES_BUILD_DIR, 'mandelbrot.wasm')

export interface MandelbrotOptions {
  readonly width?: number
  readonly height?: number
  readonly tileSize?: number
  readonly maxIter?: number
  readonly providers?: number
  readonly coresPerProvider?: number
  readonly outDir?: string
  readonly log?: (line: string) => void
}

export interface MandelbrotReport {
  readonly width: number
  readonly height: number
  readonly tasks: number
  readonly providers: Map<string, number>
  readonly gridSeconds: number
  readonly baselineSeconds: number
  /** Whether the assembled picture equals the TypeScript reference and the single-process render. */
  readonly verified: boolean
  readonly pngPath: string
}

function mandelbrotArgs (width: number, height: number, tileSize: number, tile: number, maxIter: number): string[] {
  return ['--width', String(width), '--height', String(height), '--tile-size', String(tileSize), '--tile', String(tile), '--max-iter', String(maxIter)]
}

export async function runMandelbrot (options: MandelbrotOptions = {}): Promise<MandelbrotReport> {
  const { width = 3840, height = 2880, tileSize = 160, maxIter = 5000, providers: providerCount = 2, coresPerProvider = 2, outDir = 'out/mandelbrot' } = options
  const log = options.log ?? (() => {})
  const runner = await exampleRunner('mandelbrot')
  let single: Uint8Array
  let baselineSeconds: number
  try {
    const started = performance.now()
    const result = await runner.run(mandelbrotArgs(width, height, Math.max(width, height), 0, maxIter), { timeoutMs: 3_600_000 })
    if (result.exitCode !== 0) throw new Error(`the single-process render failed: ${result.stderr}`)
    single = parsePpm(result.files.get('tile.ppm')!).rgb
    baselineSeconds = (performance.now() - started) / 1000
    log(`single process: ${width}x${height} in ${baselineSeconds.toFixed(2)} s`)
  } finally {
    await runner.close()
  }
  const reference = renderTileJs(width, height, Math.max(width, height), 0, maxIter).rgb
  const grid = await startLocalGrid({ providers: providerCount, coresPerProvider })
  let picture: Uint8Array
  let job: Awaited<ReturnType<typeof runJob>>
  try {
    const client = grid.requester.client
    await waitForOffers(client, providerCount)
    const tasks = Array.from({ length: tileCount(width, height, tileSize) }, (_, tile) => ({ args: mandelbrotArgs(width, height, tileSize, tile, maxIter) }))
    job = await runJob(client, { name: 'mandelbrot', runtime: 'wasi', module: MODULE_PATH, tasks, limits: { memoryMb: 64, timeoutMs: 600_000 } })
    const tiles = new Map<number, Uint8Array>()
    for (const task of job.tasks) tiles.set(task.idx, await fileBytes(client, task, 'tile.ppm'))
    picture = assembleTiles(width, height, tileSize, tiles)
  } finally {
    await grid.stop()
  }
  const dir = resolve(outDir)
  await mkdir(dir, { recursive: true })
  const pngPath = join(dir, 'mandelbrot.png')
  await writeFile(pngPath, encodePng(width, height, picture))
  return {
    width,
    height,
    tasks: job.tasks.length,
    providers: tasksPerProvider(job.tasks),
    gridSeconds: job.seconds,
    baselineSeconds,
    verified: Buffer.from(picture).equals(reference) && Buffer.from(single).equals(reference),
    pngPath,
  }
}

export function formatMandelbrotReport (report: MandelbrotReport): string {
  return [
    `${report.width}x${report.height} in ${report.tasks} tiles: ${report.verified ? 'every pixel equals' : 'DIFFERS from'} the TypeScript reference`,
    ...[...report.providers].map(([peer, tasks]) => `  provider …${peer.slice(-8)}: ${tasks} tasks`),
    `grid: ${report.gridSeconds.toFixed(2)} s; single process: ${report.baselineSeconds.toFixed(2)} s`,
    `picture: ${report.pngPath}`,
  ].join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      width: { type: 'string', default: '3840' },
      height: { type: 'string', default: '2880' },
      'tile-size': { type: 'string', default: '160' },
      'max-iter': { type: 'string', default: '5000' },
      providers: { type: 'string', default: '2' },
      cores: { type: 'string', default: '2' },
      out: { type: 'string', default: 'out/mandelbrot' },
    },
  })
  const started = Date.now()
  const report = await runMandelbrot({
    width: intFlag(values, 'width'),
    height: intFlag(values, 'height'),
    tileSize: intFlag(values, 'tile-size'),
    maxIter: intFlag(values, 'max-iter'),
    providers: intFlag(values, 'providers'),
    coresPerProvider: intFlag(values, 'cores'),
    outDir: values.out,
    log: line => console.error(line),
  })
  console.log(formatMandelbrotReport(report))
  console.log(summaryLine({ name: 'mandelbrot', category: 'cgi', verified: report.verified, wallS: (Date.now() - started) / 1000, baselineS: report.baselineSeconds, tasks: report.tasks, providers: report.providers.size, gridS: report.gridSeconds }))
  if (!report.verified) process.exitCode = 1
}
