import { shortId } from '../util/index.ts'

export interface ProgressState {
  readonly done: number
  readonly failed: number
  readonly total: number
  readonly perProvider: ReadonlyMap<string, number>
  readonly startedAt: number
}

/**
 * Progress of long work: a bar redrawn in place on a terminal, plain lines (at most one a second)
 * when the output is a file or a pipe, so logs stay readable.
 */
export class Progress {
  private readonly stream: NodeJS.WriteStream
  private readonly tty: boolean
  private lastLine = 0

  constructor (stream: NodeJS.WriteStream = process.stderr) {
    this.stream = stream
    this.tty = stream.isTTY === true
  }

  update (state: ProgressState, final = false): void {
    const now = Date.now()
    if (!this.tty && !final && now - this.lastLine < 1000) return
    this.lastLine = now
    const seconds = Math.max((now - state.startedAt) / 1000, 0.001)
    const finished = state.done + state.failed
    const rate = (state.done / seconds).toFixed(1)
    const providers = [...state.perProvider].map(([peer, count]) => `${shortId(peer)}:${count}`).join(' ')
    const counts = `${finished}/${state.total} tasks${state.failed > 0 ? ` (${state.failed} failed)` : ''} · ${rate} tasks/s${state.perProvider.size === 0 ? '' : ` · ${state.perProvider.size} providers`}`
    if (this.tty) {
      const width = 30
      const filled = state.total === 0 ? width : Math.round((finished / state.total) * width)
      const bar = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`
      this.stream.write(`\r\x1b[2K${bar} ${counts}${providers === '' ? '' : ` · ${providers}`}`)
      if (final) this.stream.write('\n')
    } else {
      this.stream.write(`progress: ${counts}${providers === '' ? '' : ` · ${providers}`}\n`)
    }
  }
}
