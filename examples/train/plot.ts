/**
 * The training plot, drawn pixel by pixel into a PNG: four panels, test accuracy (top) and test
 * loss (bottom) against the round (left) and against wall-clock seconds (right), all from zero.
 * Grid lines: every 10 points of accuracy, every round, every 10 seconds, and for the loss every
 * 0.1, 0.2, 0.5, 1, 2, 5, … whichever gives five to ten lines. One line per run.
 */
import { encodePng } from '../../src/util/index.ts'

export interface PlotPoint {
  readonly round: number
  readonly wallS: number
  readonly accuracy: number
  readonly loss: number
}

export interface PlotSeries {
  readonly points: readonly PlotPoint[]
  /** RGB. */
  readonly colour: readonly [number, number, number]
}

const PANEL_W = 420
const PANEL_H = 260
const MARGIN = 16

export function trainingPlot (series: readonly PlotSeries[]): Uint8Array {
  const width = PANEL_W * 2
  const height = PANEL_H * 2
  const rgb = new Uint8Array(width * height * 3).fill(255)
  const set = (x: number, y: number, [r, g, b]: readonly number[]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return
    const at = (Math.round(y) * width + Math.round(x)) * 3
    rgb[at] = r!
    rgb[at + 1] = g!
    rgb[at + 2] = b!
  }
  const all = series.flatMap(s => s.points)
  const maxRound = Math.max(1, ...all.map(p => p.round))
  const maxWall = Math.max(1, ...all.map(p => p.wallS))
  const maxLoss = Math.max(0.5, ...all.map(p => p.loss))
  const lossStep = niceStep(maxLoss / 5)
  const panels = [
    { col: 0, row: 0, x: (p: PlotPoint) => p.round / maxRound, y: (p: PlotPoint) => p.accuracy, xStep: 1 / maxRound, yStep: 0.1 },
    { col: 1, row: 0, x: (p: PlotPoint) => p.wallS / maxWall, y: (p: PlotPoint) => p.accuracy, xStep: 10 / maxWall, yStep: 0.1 },
    { col: 0, row: 1, x: (p: PlotPoint) => p.round / maxRound, y: (p: PlotPoint) => p.loss / maxLoss, xStep: 1 / maxRound, yStep: lossStep / maxLoss },
    { col: 1, row: 1, x: (p: PlotPoint) => p.wallS / maxWall, y: (p: PlotPoint) => p.loss / maxLoss, xStep: 10 / maxWall, yStep: lossStep / maxLoss },
  ]
  for (const panel of panels) {
    const left = panel.col * PANEL_W + MARGIN
    const top = panel.row * PANEL_H + MARGIN
    const w = PANEL_W - 2 * MARGIN
    const h = PANEL_H - 2 * MARGIN
    const at = (fx: number, fy: number): [number, number] => [left + fx * w, top + (1 - fy) * h]
    const grey = [225, 225, 225]
    for (let f = 0; f <= 1 + 1e-9; f += panel.xStep) for (let y = 0; y <= h; y++) set(...at(f, y / h), grey)
    for (let f = 0; f <= 1 + 1e-9; f += panel.yStep) for (let x = 0; x <= w; x++) set(...at(x / w, f), grey)
    for (let x = 0; x <= w; x++) set(...at(x / w, 0), [0, 0, 0])
    for (let y = 0; y <= h; y++) set(...at(0, y / h), [0, 0, 0])
    for (const { points, colour } of series) {
      for (let i = 1; i < points.length; i++) {
        const [x0, y0] = at(panel.x(points[i - 1]!), panel.y(points[i - 1]!))
        const [x1, y1] = at(panel.x(points[i]!), panel.y(points[i]!))
        const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))))
        for (let s = 0; s <= n; s++) {
          const x = x0 + (x1 - x0) * s / n
          const y = y0 + (y1 - y0) * s / n
          for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) set(x + dx, y + dy, colour)
        }
      }
      for (const point of points) {
        const [x, y] = at(panel.x(point), panel.y(point))
        for (let dx = -2; dx <= 2; dx++) for (let dy = -2; dy <= 2; dy++) set(x + dx, y + dy, colour)
      }
    }
  }
  return encodePng(width, height, rgb)
}

/** The smallest of 1, 2 and 5 times a power of ten that is at least `at`. */
function niceStep (at: number): number {
  const power = 10 ** Math.floor(Math.log10(at))
  return [1, 2, 5, 10].map(m => m * power).find(step => step >= at)!
}
