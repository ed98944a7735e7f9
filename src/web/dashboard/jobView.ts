/**
 * One job in detail: counts, providers, budget/owed/paid, every task's state (queued,
 * running, validating, done, failed) and provider, downloads, and for image jobs the picture,
 * painted tile by tile as results arrive (for animations, the latest frame filling in).
 */
import { coalesce } from '../common/coalesce.ts'
import { download, fill, formatBytes, h, shortId } from '../common/dom.ts'
import { paymentsLine } from './paymentsLine.ts'
import { frameCount, frameIndex, mosaicGeometry, paintTile, tileIndex, tileOutput } from './mosaic.ts'
import type { NodeApi } from '../common/nodeApi.ts'
import type { TaskResultSummary } from '../../sdk/browser.ts'
import type { MosaicGeometry } from './mosaic.ts'
import type { JobStatus, PaymentStatus, RequesterEvent } from '../../requester/index.ts'

type TaskView = 'queued' | 'running' | 'validating' | 'done' | 'failed' | 'cancelled'

const LEGEND: TaskView[] = ['queued', 'running', 'validating', 'done', 'failed', 'cancelled']
/** Tasks that ended are read at most this often while tasks finish (one request, however many finished). */
const RESULTS_REFRESH_MS = 250
/** Ended tasks read in one request: a page behind by more reads on at once. */
const RESULTS_PAGE = 1000
/** Cells drawn at most: a million-task job would otherwise be a million elements. */
const MAX_CELLS = 5000
/** The job's payment is re-read at most this often while results are accepted (each may owe more). */
const PAYMENT_REFRESH_MS = 1000

export class JobView {
  private readonly api: NodeApi
  private readonly root: HTMLElement
  readonly jobId: string
  private status: JobStatus | undefined
  private payment: PaymentStatus | null = null
  /** Each task's outcome and arguments, by index, as last read (for the cells drawn, and every tile of a picture). */
  private readonly tasks: TaskResultSummary[] = []
  /** Where the next read of ended tasks starts: only what ended since is read. */
  private endedCursor = 0
  /** The first task's arguments: an image job's geometry and frames are in them. */
  private firstArgs: string[] = []
  /** Finished tiles whose bytes could not be read yet. */
  private unpainted: TaskResultSummary[] = []
  private readonly states: TaskView[] = []
  private readonly providers: Array<string | null> = []
  private readonly cells: HTMLElement[] = []
  private readonly painted = new Set<number>()
  /** Tasks changed by live events while a load was under way: newer than the loaded snapshot. */
  private readonly changedWhileLoading = new Set<number>()
  private loading = false
  private geometry: MosaicGeometry | undefined
  private canvas: HTMLCanvasElement | undefined
  /** For animations: the frame on the canvas, and its caption. */
  private shownFrame = -1
  private readonly frameCaption = h('p', { class: 'dim', id: 'picture-frame' })
  private stopped = false
  /** Reads the tasks that ended since the last read (for the tiles' CIDs, and what a click on a cell shows), in one request for many. */
  private readonly scheduleRefresh = coalesce(async () => {
    if (this.stopped) return
    const page = await this.api.endedTasks(this.jobId, this.endedCursor, RESULTS_PAGE)
    this.endedCursor = page.next
    const kept = page.tasks.filter(task => this.keeps(task.idx))
    for (const task of kept) this.tasks[task.idx] = task
    await this.paintFinishedTiles(kept)
    if (page.tasks.length === RESULTS_PAGE) this.scheduleRefresh()
  }, RESULTS_REFRESH_MS)
  private readonly refreshPayment = coalesce(async () => {
    if (this.stopped) return
    this.payment = (await this.api.job(this.jobId)).payment
    this.renderSummary()
    // An ended job is settled a moment later: follow it until it is.
    if (this.payment?.state === 'open' && this.status?.job.state !== 'running') this.refreshPayment()
  }, PAYMENT_REFRESH_MS)
  private readonly summary = h('div')
  private readonly detail = h('div', { class: 'mono dim', id: 'task-detail' })

  constructor (api: NodeApi, root: HTMLElement, jobId: string) {
    this.api = api
    this.root = root
    this.jobId = jobId
  }

  /**
   * Loads the job and draws it: the tasks that have cells, and for a picture every tile, a page at
   * a time (a job of a million tasks is not read whole); called on selection and after the event
   * stream reconnects.
   */
  async load (): Promise<void> {
    this.loading = true
    this.changedWhileLoading.clear()
    try {
      const [status, first] = await Promise.all([this.api.job(this.jobId), this.api.tasks(this.jobId, 0, MAX_CELLS)])
      this.status = status
      this.payment = status.payment
      this.endedCursor = first.next
      this.firstArgs = first.tasks[0]?.args ?? []
      this.geometry = mosaicGeometry(first.tasks[0]?.args)
      this.takeLoaded(first.tasks)
      this.render()
      this.unpainted = []
      await this.paintFinishedTiles(first.tasks)
      for (let from = MAX_CELLS; this.geometry !== undefined && from < status.job.taskCount && !this.stopped; from += RESULTS_PAGE) {
        const page = await this.api.tasks(this.jobId, from, RESULTS_PAGE)
        this.takeLoaded(page.tasks)
        await this.paintFinishedTiles(page.tasks)
      }
    } finally {
      this.loading = false
    }
    // Tasks that finished while loading are newer than the loaded results, and their events
    // came before the picture existed: read the results again for their tiles.
    if ([...this.changedWhileLoading].some(idx => this.states[idx] === 'done')) this.scheduleRefresh()
  }

  /** Takes loaded tasks' outcomes and states, except where a live event during the load is newer. */
  private takeLoaded (tasks: readonly TaskResultSummary[]): void {
    for (const task of tasks) {
      if (this.keeps(task.idx)) this.tasks[task.idx] = task
      if (this.changedWhileLoading.has(task.idx)) continue
      this.states[task.idx] = task.state === 'running' && task.replicasReturned > 0 ? 'validating' : task.state
      this.providers[task.idx] = task.provider
    }
  }

  /** Applies one live event of this job. */
  apply (event: RequesterEvent): void {
    if (!('idx' in event)) return
    const next: TaskView | undefined = {
      'task.dispatched': 'running' as const,
      'task.validating': 'validating' as const,
      'task.done': 'done' as const,
      'task.failed': 'failed' as const,
      'task.retry': 'queued' as const,
      'result.judged': undefined,
    }[event.type]
    if (next === undefined) return
    this.states[event.idx] = next
    if (this.loading) this.changedWhileLoading.add(event.idx)
    if ('provider' in event && event.provider !== null) this.providers[event.idx] = event.provider
    this.paintCell(event.idx)
    if (next === 'done' && this.keeps(event.idx)) this.scheduleRefresh()
    if (next === 'done' && this.payment !== null) this.refreshPayment()
  }

  /** New counts from the jobs list (the job's state and task counts). */
  update (status: JobStatus): void {
    // A job that just ended is settled on chain: read its final amounts.
    if (this.status?.job.state === 'running' && status.job.state !== 'running') this.refreshPayment()
    this.status = status
    this.renderSummary()
  }

  stop (): void {
    this.stopped = true
  }


  /** Whether the view keeps a task's outcome: it has a cell, or a tile of the picture. */
  private keeps (idx: number): boolean {
    return idx < MAX_CELLS || this.geometry !== undefined
  }

  /** Paints the tiles of `ended` (and of earlier ones whose bytes could not be read) that are done and not painted yet. */
  private async paintFinishedTiles (ended: readonly TaskResultSummary[]): Promise<void> {
    if (this.geometry === undefined || this.canvas === undefined) return
    const todo = [...this.unpainted, ...ended].filter(task => task.state === 'done' && !this.painted.has(task.idx))
    this.unpainted = []
    const tiles = await Promise.all(todo.map(async task => {
      const output = tileOutput(task.outputs)
      const tile = tileIndex(task.args)
      if (output === undefined || tile === undefined) return undefined
      const frame = frameIndex(task.args) ?? 0
      // A tile of a frame older than the one shown is not drawn: it would mix two frames.
      if (frame < this.shownFrame) {
        this.painted.add(task.idx)
        return undefined
      }
      // A tile whose bytes could not be read stays unpainted, for the next refresh to try again.
      const ppm = await this.api.content(output.cid).catch(() => { this.unpainted.push(task) })
      if (ppm === undefined) return undefined
      this.painted.add(task.idx)
      return { tile, frame, ppm }
    }))
    if (this.unpainted.length > 0) this.scheduleRefresh()
    for (const { tile, frame, ppm } of tiles.filter(t => t !== undefined).sort((a, b) => a.frame - b.frame || a.tile - b.tile)) {
      if (frame < this.shownFrame) continue
      this.shownFrame = frame
      paintTile(this.canvas, this.geometry, tile, ppm)
    }
    this.canvas.dataset.painted = String(this.painted.size)
    const frames = frameCount(this.firstArgs)
    if (frameIndex(this.firstArgs) !== undefined && this.shownFrame >= 0) {
      this.canvas.dataset.frame = String(this.shownFrame)
      this.frameCaption.textContent = `frame ${this.shownFrame + 1}${frames === undefined ? '' : ` of ${frames}`}`
    }
  }

  private render (): void {
    const count = this.status?.job.taskCount ?? 0
    this.cells.length = 0
    const grid = h('div', { class: 'tasks', id: 'task-grid' })
    for (let idx = 0; idx < Math.min(count, MAX_CELLS); idx++) {
      const cell = h('div', { class: 'task' })
      cell.addEventListener('click', () => this.showTask(idx))
      this.cells[idx] = cell
      grid.append(cell)
      this.paintCell(idx)
    }
    this.canvas = this.geometry === undefined
      ? undefined
      : h('canvas', { class: 'picture', id: 'picture', width: this.geometry.width, height: this.geometry.height })
    const legend = h('div', { class: 'legend' }, ...LEGEND.map(state => h('span', {}, h('i', { class: `task ${state}` }), state)))
    const actions = h('div', { class: 'row' },
      button('Download results.json', () => this.downloadResults()),
      button('Cancel job', async () => {
        this.update(await this.api.cancel(this.jobId))
      }, 'secondary'))
    this.renderSummary()
    const clipped = count > MAX_CELLS ? h('p', { class: 'dim' }, `showing the first ${MAX_CELLS} of ${count} tasks`) : undefined
    fill(this.root, this.summary, legend, grid, clipped, this.detail, actions, this.canvas, this.canvas === undefined ? undefined : this.frameCaption)
  }

  private renderSummary (): void {
    const status = this.status
    if (status === undefined) return
    const { job, counts } = status
    const stat = (value: string | number, label: string) => h('div', { class: 'stat' }, h('b', {}, String(value)), h('span', {}, label))
    const elapsed = ((job.finishedAt ?? Date.now()) - job.createdAt) / 1000
    fill(this.summary,
      h('div', { class: 'row' }, h('span', { class: `pill ${job.state}`, id: 'job-state' }, job.state), h('span', { class: 'mono' }, job.id), h('span', { class: 'dim' }, `${job.spec.name} · ${job.spec.module.cid.slice(0, 16)}… (${formatBytes(job.spec.module.size)}) · ${elapsed.toFixed(1)} s`)),
      h('div', { class: 'stats' },
        stat(job.taskCount, 'tasks'), stat(counts.queued, 'queued'), stat(counts.running, 'running'),
        stat(counts.done, 'done'), stat(counts.failed, 'failed'), stat(status.providers.length, 'providers linked')),
      h('p', { class: 'payments', id: 'payments' }, paymentsLine(this.payment)),
      status.doneByProvider.length === 0
        ? undefined
        : h('table', { id: 'done-by-provider' }, h('tr', {}, h('th', {}, 'provider'), h('th', {}, 'tasks done')),
          ...status.doneByProvider.map(({ peerId, done }) => h('tr', {}, h('td', { class: 'mono', title: peerId }, shortId(peerId)), h('td', {}, String(done))))))
  }

  private paintCell (idx: number): void {
    const cell = this.cells[idx]
    if (cell === undefined) return
    const state = this.states[idx] ?? 'queued'
    const provider = this.providers[idx]
    cell.className = `task ${state}`
    cell.title = `task ${idx}: ${state}${provider === null || provider === undefined ? '' : ` on ${provider}`}`
  }

  private showTask (idx: number): void {
    const task = this.tasks[idx]
    if (task === undefined) {
      fill(this.detail, `task ${idx}: ${this.states[idx] ?? 'queued'}`)
      return
    }
    fill(this.detail,
      `task ${idx}: ${this.states[idx] ?? task.state}${task.provider === null ? '' : ` on ${shortId(task.provider)}`}${task.exitCode === null ? '' : `, exit ${task.exitCode}`}${task.reason === null ? '' : `, ${task.reason}`}${task.wallMs === null ? '' : `, ${task.wallMs.toFixed(1)} ms`} `,
      ...task.outputs.map(output => button(`${output.kind === 'file' ? output.path : output.kind} (${formatBytes(output.size)})`, async () => {
        download(`task-${idx}-${output.kind === 'file' ? output.path.replaceAll('/', '_') : output.kind}`, await this.api.content(output.cid) as BlobPart)
      }, 'secondary')))
  }

  private async downloadResults (): Promise<void> {
    download(`conun-${this.jobId}-results.json`, await this.api.resultsFile(this.jobId), 'application/json')
  }
}

function button (label: string, onClick: () => void | Promise<void>, kind?: string): HTMLButtonElement {
  const element = h('button', { type: 'button', class: kind })
  element.textContent = label
  element.addEventListener('click', () => void onClick())
  return element
}
