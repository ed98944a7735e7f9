// The dashboard against a real grid: a Mandelbrot job's progress and picture, an animation's latest
// frame, and a refused spec.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { buildExamples } from '../../scripts/build-examples.ts'
import { raytraceArgs } from '../../examples/animation/animation.ts'
import { parsePpm, renderTileJs, tileRect } from '../../examples/mandelbrot/tiles.ts'
import { exampleRunner } from '../../examples/runExample.ts'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { ensureWebBundle } from '../../src/web/index.ts'
import { waitFor } from '../helpers.ts'
import { dashboardUrl, launchChromium } from './browser.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
const [examples] = await Promise.all([buildExamples({ log: () => {} }), ensureWebBundle()])
const mandelbrot = examples.find(path => path.endsWith('mandelbrot.wasm'))!
const raytrace = examples.find(path => path.endsWith('raytrace.wasm'))!
// Providers ask 0.001 CON a task: the jobs here are paid through the dev chain's escrow.
const grid = await startLocalGrid({ providers: 2, coresPerProvider: 1, providerFlags: ['--price', '0.001'] })
const browser = await launchChromium()
const client = grid.requester.client
test.after(async () => {
  await browser.close()
  await grid.stop()
})
await waitFor(async () => (await client.peers()).filter(peer => peer.offer !== null).length === 2, 20_000, 'both offers')

const [WIDTH, HEIGHT, TILE, MAX_ITER] = [480, 360, 40, 300]

test('the dashboard follows a Mandelbrot job task by task and paints its picture', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } })
  await page.goto(await dashboardUrl(grid.requester))
  await page.waitForSelector('#peers-table')
  assert.equal(await page.locator('#peers-table tr[data-peer]').count(), 2, 'both providers are listed with their offers')
  assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar')
  // On one machine: reachable on the LAN only, and every provider connected directly.
  assert.equal(await page.locator('#reachability').getAttribute('data-status'), 'private')
  assert.match(await page.locator('#reachability').textContent() ?? '', /on this machine or LAN only/)
  assert.deepEqual(await page.locator('#peers-table tr[data-peer] .pill.yes').allTextContents(), ['direct', 'direct'])

  const submitted = await client.submitJob({
    name: 'mandelbrot',
    runtime: 'wasi',
    price: '0.001',
    module: mandelbrot,
    range: { count: (WIDTH / TILE) * (HEIGHT / TILE), args: ['--width', String(WIDTH), '--height', String(HEIGHT), '--tile-size', String(TILE), '--tile', '{i}', '--max-iter', String(MAX_ITER)] },
  })
  const jobId = submitted.job.id
  const resultReads: string[] = []
  page.on('request', request => { if (request.url().includes(`/v1/jobs/${jobId}/results`)) resultReads.push(request.url()) })
  await page.locator(`tr[data-job="${jobId}"]`).click()
  await page.waitForSelector('#picture')
  const count = submitted.job.taskCount
  assert.equal(await page.locator('#task-grid .task').count(), count, 'one cell per task')
  await page.waitForFunction(n => document.querySelectorAll('#task-grid .task.done').length === n && document.querySelector('#picture')?.getAttribute('data-painted') === String(n), count, { timeout: 120_000 })
  await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'completed')
  // The tiles come from pages of the tasks that ended since the last read, not from the whole job read again each time.
  assert.deepEqual(resultReads.filter(url => !url.includes('after=')).map(url => new URL(url).search), ['?from=0&limit=5000'], `the job's tasks are read once, when selected, by index: ${resultReads.join(' ')}`)
  assert.ok(resultReads.some(url => url.includes('after=')), 'finished tiles are read page by page')
  // The download is the node's whole-job answer saved as it came.
  const [saved] = await Promise.all([page.waitForEvent('download'), page.getByText('Download results.json').click()])
  const file = JSON.parse(await readFile(await saved.path(), 'utf8')) as { job: { id: string }, tasks: Array<{ idx: number, state: string }> }
  assert.equal(file.job.id, jobId)
  assert.deepEqual(file.tasks.map(task => [task.idx, task.state]), Array.from({ length: count }, (_, idx) => [idx, 'done']))
  // Every tile was paid for once the escrow is settled: 0.001 CON each.
  const paid = `paid ${count * 0.001} CON`
  // Paid and finalized show once the settlement is mined.
  await page.waitForFunction(text => document.querySelector('#payments')?.textContent?.startsWith('payments (finalized') === true && document.querySelector('#payments')?.textContent?.includes(text) === true, paid, { timeout: 60_000 })
  assert.match(await page.locator('#payments').textContent() ?? '', /^payments \(finalized\): budget [\d.]+ CON · owed [\d.]+ CON · paid/)
  const titles = await page.locator('#task-grid .task').evaluateAll(cells => cells.map(cell => cell.getAttribute('title') ?? ''))
  const providers = new Set(grid.providers.map(p => p.peerId))
  for (const title of titles) assert.ok([...providers].some(peer => title.endsWith(`on ${peer}`)), `each task names its provider: ${title}`)
  // Tasks done per provider, as the node counts them: every task, each on a provider of the grid.
  await page.waitForFunction(n => [...document.querySelectorAll('#done-by-provider td:nth-child(2)')].reduce((sum, cell) => sum + Number(cell.textContent), 0) === n, count)
  const doneBy = await page.locator('#done-by-provider td:first-child').evaluateAll(cells => cells.map(cell => cell.getAttribute('title') ?? ''))
  assert.ok(doneBy.length > 0 && doneBy.every(peer => providers.has(peer)), `tasks done by the grid's providers: ${doneBy.join(', ')}`)

  // The canvas holds exactly the pixels a local render of the same tiles gives.
  const pixels = await page.locator('#picture').evaluate((canvas: HTMLCanvasElement) => Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data))
  for (const tile of [0, 7, count - 1]) {
    const expected = renderTileJs(WIDTH, HEIGHT, TILE, tile, MAX_ITER)
    const rect = tileRect(tile, WIDTH, HEIGHT, TILE)
    for (let y = 0; y < rect.h; y += 7) {
      for (let x = 0; x < rect.w; x += 7) {
        const at = ((rect.y + y) * WIDTH + rect.x + x) * 4
        const want = (y * rect.w + x) * 3
        assert.deepEqual(pixels.slice(at, at + 3), Array.from(expected.rgb.subarray(want, want + 3)), `tile ${tile} pixel ${x},${y}`)
      }
    }
  }
  await mkdir(join(ROOT, 'out'), { recursive: true })
  const shot = await page.screenshot({ path: join(ROOT, 'out', 'dashboard.png'), fullPage: true })
  assert.ok(shot.byteLength > 10_000, 'the screenshot has content')
  await page.close()
})

test('for an animation, the dashboard shows the latest frame, exactly as a local render of it', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } })
  t.after(() => page.close())
  await page.goto(await dashboardUrl(grid.requester))
  await page.waitForSelector('#peers-table')
  // 96 × 64 in 32-pixel tiles: 6 tiles a frame, 3 frames, one task each.
  const frame = { width: 96, height: 64, tileSize: 32, frames: 3, samples: 1 }
  const tasks = Array.from({ length: 18 }, (_, i) => ({ args: raytraceArgs({ ...frame, tile: i % 6, frame: Math.floor(i / 6) }) }))
  const submitted = await client.submitJob({ name: 'animation', runtime: 'wasi', price: '0.001', module: raytrace, tasks })
  await page.locator(`tr[data-job="${submitted.job.id}"]`).click()
  await page.waitForFunction(() => document.querySelector('#picture')?.getAttribute('data-painted') === '18' && document.querySelector('#picture')?.getAttribute('data-frame') === '2', undefined, { timeout: 120_000 })
  assert.equal(await page.locator('#picture-frame').textContent(), 'frame 3 of 3')
  const runner = await exampleRunner('raytrace')
  t.after(() => runner.close())
  const local = await runner.run(raytraceArgs({ ...frame, tileSize: 96, tile: 0, frame: 2 }))
  const want = parsePpm(local.files.get('tile.ppm')!).rgb
  const pixels = await page.locator('#picture').evaluate((canvas: HTMLCanvasElement) => Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data))
  assert.deepEqual(pixels.filter((_, i) => i % 4 !== 3), Array.from(want), 'the canvas is not the last frame')
})

test('with replication, a task whose first replica is back shows as validating', async () => {
  const page = await browser.newPage()
  await page.goto(await dashboardUrl(grid.requester))
  await page.waitForSelector('#peers-table')
  // Two replicas on distinct providers, but only one provider allowed: every task stays validating.
  const submitted = await client.submitJob({ name: 'replicated', runtime: 'wasi', price: '0.001', module: mandelbrot, range: { count: 4, args: ['--width', '80', '--height', '80', '--tile-size', '40', '--tile', '{i}'] }, replication: 2, quorum: 2, constraints: { providers: [grid.providers[0]!.peerId] } })
  await page.locator(`tr[data-job="${submitted.job.id}"]`).click()
  await page.waitForFunction(() => document.querySelectorAll('#task-grid .task.validating').length === 4, undefined, { timeout: 60_000 })
  await page.getByRole('button', { name: 'Cancel job' }).click()
  await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'cancelled')
  assert.equal((await client.job(submitted.job.id)).job.state, 'cancelled')
  await page.close()
})

test('an invalid spec submitted from the page shows its errors and creates no job', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  await page.goto(await dashboardUrl(grid.requester))
  await page.waitForSelector('#jobs-table, #jobs p')
  const before = (await client.jobs()).length
  await page.fill('#spec', JSON.stringify({ runtime: 'wasi', module: 'mandelbrot.wasm', range: { count: 0 }, replication: 2, quorum: 3 }))
  await page.setInputFiles('#files', mandelbrot)
  await page.click('#submit')
  const errors = page.locator('#submit-errors')
  await errors.waitFor({ state: 'visible' })
  const text = await errors.textContent() ?? ''
  assert.match(text, /The spec is invalid/)
  assert.match(text, /range\.count/)
  assert.match(text, /quorum cannot be more than replication/)
  assert.equal((await client.jobs()).length, before, 'no job was created')
  assert.equal(await page.locator('#submit-status').textContent(), '', 'nothing was uploaded')

  await page.fill('#spec', '{ "runtime": "wasi", ')
  await page.click('#submit')
  await page.waitForFunction(() => document.querySelector('#submit-errors')?.textContent?.includes('not valid JSON') === true)
  assert.equal((await client.jobs()).length, before, 'still no job')
  await page.close()
})
