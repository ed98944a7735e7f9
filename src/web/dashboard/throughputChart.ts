/**
 * Tasks finished per second over the last two minutes, drawn by hand on a canvas, one line per
 * series: the results this node's jobs received (as requester) and the tasks it ran (as provider).
 */

const WINDOW_SECONDS = 120

export type Series = 'requested' | 'provided'

const COLOURS: Record<Series, string> = { requested: '#4cc2ff', provided: '#3fcf8e' }

export class ThroughputChart {
  private readonly canvas: HTMLCanvasElement
  /** Finished tasks per whole second (ms since the epoch / 1000), per series. */
  private readonly perSecond: Record<Series, Map<number, number>> = { requested: new Map(), provided: new Map() }

  constructor (canvas: HTMLCanvasElement) {
    this.canvas = canvas
  }

  count (series: Series, now = Date.now()): void {
    const second = Math.floor(now / 1000)
    const counts = this.perSecond[series]
    counts.set(second, (counts.get(second) ?? 0) + 1)
  }

  /** Tasks/s over the last full 5 seconds. */
  rate (series: Series, now = Date.now()): number {
    const last = Math.floor(now / 1000) - 1
    let sum = 0
    for (let s = last - 4; s <= last; s++) sum += this.perSecond[series].get(s) ?? 0
    return sum / 5
  }

  draw (now = Date.now()): void {
    const ratio = window.devicePixelRatio || 1
    const width = this.canvas.clientWidth
    const height = this.canvas.clientHeight
    this.canvas.width = Math.round(width * ratio)
    this.canvas.height = Math.round(height * ratio)
    const g = this.canvas.getContext('2d')!
    g.scale(ratio, ratio)
    const newest = Math.floor(now / 1000) - 1
    const values = (series: Series) => {
      const counts = this.perSecond[series]
      for (const second of counts.keys()) if (second < newest - WINDOW_SECONDS) counts.delete(second)
      return Array.from({ length: WINDOW_SECONDS }, (_, i) => counts.get(newest - WINDOW_SECONDS + 1 + i) ?? 0)
    }
    const lines = { requested: values('requested'), provided: values('provided') }
    const top = niceCeiling(Math.max(4, ...lines.requested, ...lines.provided))
    const left = 36
    const bottom = height - 18
    const plotWidth = width - left - 6
    g.font = '11px system-ui, sans-serif'
    g.fillStyle = '#8695a7'
    g.strokeStyle = '#263241'
    g.lineWidth = 1
    for (let i = 0; i <= 4; i++) {
      const y = Math.round(bottom - (bottom - 8) * i / 4) + 0.5
      g.beginPath()
      g.moveTo(left, y)
      g.lineTo(width - 6, y)
      g.stroke()
      g.fillText(String(Math.round(top * i / 4)), 4, y + 4)
    }
    g.fillText(`−${WINDOW_SECONDS} s`, left, height - 4)
    g.fillText('now', width - 30, height - 4)
    const x = (i: number) => left + plotWidth * i / (WINDOW_SECONDS - 1)
    const y = (v: number) => bottom - (bottom - 8) * v / top
    for (const series of ['requested', 'provided'] as const) {
      g.beginPath()
      lines[series].forEach((v, i) => (i === 0 ? g.moveTo(x(i), y(v)) : g.lineTo(x(i), y(v))))
      g.strokeStyle = COLOURS[series]
      g.lineWidth = 1.5
      g.stroke()
    }
  }
}

/** 1, 2, 5, 10, 20, 50 … at or above `value`: round numbers for the axis. */
function niceCeiling (value: number): number {
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}
