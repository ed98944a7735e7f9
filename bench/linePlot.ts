/**
 * A small raster line plot for the benchmarks' pictures: panels side by side, each with series of
 * points joined by lines over a shared x axis, a y axis from 0, grid lines and short labels in a
 * 3×5 pixel font. Returns RGB pixels for `encodePng`.
 */
export type Rgb = readonly [number, number, number]

export interface Series {
  readonly label: string
  readonly color: Rgb
  readonly points: ReadonlyArray<readonly [x: number, y: number | null]>
}

export interface Panel {
  readonly title: string
  readonly series: readonly Series[]
}

export interface PlotOptions {
  /** Where the x axis has its ticks, and what each is called. */
  readonly xTicks: ReadonlyArray<{ readonly x: number, readonly label: string }>
  readonly panelWidth?: number
  readonly height?: number
}

const GLYPHS: Record<string, string> = {
  0: '111101101101111', 1: '010110010010111', 2: '111001111100111', 3: '111001111001111', 4: '101101111001001',
  5: '111100111001111', 6: '111100111101111', 7: '111001001001001', 8: '111101111101111', 9: '111101111001111',
  '.': '000000000000010', '/': '001001010100100', ' ': '000000000000000', '-': '000000111000000', ',': '000000000010100',
  A: '010101111101101', B: '110101110101110', C: '111100100100111', D: '110101101101110', E: '111100110100111',
  F: '111100110100100', G: '111100101101111', I: '111010010010111', J: '001001001101111', K: '101101110101101',
  L: '100100100100111', M: '101111111101101', N: '110101101101101', O: '111101101101111', P: '111101111100100',
  Q: '111101101111001', R: '110101110101101', S: '111100111001111', T: '111010010010010', U: '101101101101111',
  V: '101101101101010', W: '101101111111101', X: '101101010101101', Y: '101101010010010', Z: '111001010100111',
}
const SCALE = 2
const MARGIN = { left: 16, right: 24, top: 30, bottom: 26 }

export function linePlot (panels: readonly Panel[], options: PlotOptions): { width: number, height: number, rgb: Uint8Array } {
  const panelWidth = options.panelWidth ?? 420
  const height = options.height ?? 300
  const width = panelWidth * panels.length
  const rgb = new Uint8Array(width * height * 3).fill(255)
  const set = (x: number, y: number, color: Rgb) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return
    rgb.set(color, (Math.round(y) * width + Math.round(x)) * 3)
  }
  const text = (x: number, y: number, value: string, color: Rgb) => {
    for (const [i, char] of [...value.toUpperCase()].entries()) {
      const glyph = GLYPHS[char] ?? GLYPHS[' ']!
      for (let bit = 0; bit < 15; bit++) {
        if (glyph[bit] !== '1') continue
        for (let dy = 0; dy < SCALE; dy++) for (let dx = 0; dx < SCALE; dx++) set(x + (i * 4 + bit % 3) * SCALE + dx, y + Math.floor(bit / 3) * SCALE + dy, color)
      }
    }
  }
  const line = (x0: number, y0: number, x1: number, y1: number, color: Rgb) => {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1)
    for (let s = 0; s <= steps; s++) set(x0 + (x1 - x0) * s / steps, y0 + (y1 - y0) * s / steps, color)
  }
  const xs = options.xTicks.map(tick => tick.x)
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)]
  for (const [p, panel] of panels.entries()) {
    const left = p * panelWidth + MARGIN.left + 40
    const right = (p + 1) * panelWidth - MARGIN.right
    const top = MARGIN.top
    const bottom = height - MARGIN.bottom
    const ys = panel.series.flatMap(series => series.points.map(([, y]) => y ?? 0))
    const yMax = niceCeiling(Math.max(1, ...ys))
    const px = (x: number) => xMax === xMin ? (left + right) / 2 : left + (x - xMin) / (xMax - xMin) * (right - left)
    const py = (y: number) => bottom - y / yMax * (bottom - top)
    text(p * panelWidth + MARGIN.left, 6, panel.title, [0, 0, 0])
    for (let i = 0; i <= 4; i++) {
      const y = py(yMax * i / 4)
      line(left, y, right, y, [225, 225, 225])
      text(p * panelWidth + 4, y - 5, formatValue(yMax * i / 4), [90, 90, 90])
    }
    for (const tick of options.xTicks) {
      line(px(tick.x), top, px(tick.x), bottom, [225, 225, 225])
      text(px(tick.x) - tick.label.length * 4, bottom + 6, tick.label, [90, 90, 90])
    }
    line(left, top, left, bottom, [0, 0, 0])
    line(left, bottom, right, bottom, [0, 0, 0])
    for (const [s, series] of panel.series.entries()) {
      const known = series.points.filter((point): point is readonly [number, number] => point[1] !== null)
      for (let i = 1; i < known.length; i++) line(px(known[i - 1]![0]), py(known[i - 1]![1]), px(known[i]![0]), py(known[i]![1]), series.color)
      for (const [x, y] of known) for (let d = -2; d <= 2; d++) { line(px(x) - 2, py(y) + d, px(x) + 2, py(y) + d, series.color) }
      text(left + 8, top + 4 + s * 14, series.label, series.color)
    }
  }
  return { width, height, rgb }
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling (value: number): number {
  const power = 10 ** Math.floor(Math.log10(value))
  return [1, 2, 5, 10].map(step => step * power).find(step => step >= value)!
}

function formatValue (value: number): string {
  return value >= 10_000 ? `${Math.round(value / 1000)}K` : String(Math.round(value))
}
