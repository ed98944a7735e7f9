// Phones as providers, in Chromium's phone emulation (a 360 px wide touch screen and a mobile user
// agent): the dashboard's QR code carries the provide link, the provide page fits the screen, runs a
// job's tasks in several workers, lets the user choose how many, and pauses on low battery.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import jsqr from 'jsqr'
import { buildExamples } from '../../scripts/build-examples.ts'
import { countPrimesJs, primeRanges, primeTaskArgs } from '../../examples/primes/primes.ts'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { ensureWebBundle } from '../../src/web/index.ts'
import { stdoutOf, waitFor } from '../helpers.ts'
import { dashboardUrl, launchChromium } from './browser.ts'
import type { BrowserContext, Page } from 'playwright-core'

// jsqr is CommonJS with its function on `default`.
const jsQR = jsqr.default
const OUT = resolve(import.meta.dirname, '..', '..', 'out')
const [examples] = await Promise.all([buildExamples({ log: () => {} }), ensureWebBundle()])
const primes = examples.find(path => path.endsWith('primes.wasm'))!
const grid = await startLocalGrid({ providers: 0, coresPerProvider: 1 })
const browser = await launchChromium()
const client = grid.requester.client
test.after(async () => {
  await browser.close()
  await grid.stop()
})

/** A mid-range Android phone with four cores: the page should give three of them to the grid. */
const PHONE = {
  viewport: { width: 360, height: 760 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
  userAgent: 'Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
}
const PHONE_CORES = 4

async function phone (battery?: { level: number, charging: boolean }): Promise<BrowserContext> {
  const context = await browser.newContext(PHONE)
  await context.addInitScript(({ cores, battery }) => {
    Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { configurable: true, get: () => cores })
    // Counts the WASI Web Workers the page makes (not the one that asks for a GPU adapter).
    Object.assign(window, { __workersMade: 0 })
    window.Worker = class extends Worker {
      constructor (...args: ConstructorParameters<typeof Worker>) {
        super(...args)
        if (String(args[0]).includes('wasiWorker')) (window as unknown as { __workersMade: number }).__workersMade++
      }
    }
    if (battery === undefined) return
    // The Battery Status API as a phone's browser has it; the test plugs the phone in through __battery.
    const manager = Object.assign(new EventTarget(), battery)
    Object.assign(window, { __battery: manager })
    Object.defineProperty(Navigator.prototype, 'getBattery', { configurable: true, value: async () => manager })
  }, { cores: PHONE_CORES, battery })
  return context
}

const fitsTheScreen = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)
const screenshot = async (page: Page, name: string) => {
  await mkdir(OUT, { recursive: true })
  await page.screenshot({ path: join(OUT, name), fullPage: true })
}

const phoneContext = await phone()
// The phone's camera reads the QR code off the dashboard; what it reads is the link the tab opens.
let link = ''

test('the dashboard shows the provide link as a QR code a phone can scan, and fits a phone', async () => {
  const page = await phoneContext.newPage()
  await page.goto(await dashboardUrl(grid.requester))
  const href = await page.locator('#provide-link[href*="#token="]').getAttribute('href')
  const qr = await page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('#provide-qr')!
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
    return { width: pixels.width, height: pixels.height, data: [...pixels.data] }
  })
  const decoded = jsQR(Uint8ClampedArray.from(qr.data), qr.width, qr.height)
  assert.ok(decoded !== null, 'the QR code decodes')
  assert.equal(decoded.data, href)
  assert.match(decoded.data, /^http:\/\/127\.0\.0\.1:\d+\/provide#token=[0-9a-f]{64}$/)
  // Opened on loopback, the dashboard says how to make the link reachable from a phone.
  assert.match(await page.locator('#provide-qr-note').textContent() ?? '', /--api-host 0\.0\.0\.0/)
  assert.ok(await fitsTheScreen(page), 'no sideways scrolling')
  await screenshot(page, 'phone-dashboard.png')
  await page.close()
  link = decoded.data
})

test('on a phone, the provide page fits the screen and runs a job\'s tasks in several workers', async () => {
  const page = await phoneContext.newPage()
  await page.goto(link)
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
  assert.equal(await page.locator('#workers').inputValue(), String(PHONE_CORES - 1), 'all cores but one by default')
  assert.match(await page.locator('#reason').textContent() ?? '', /3 workers/)
  // The page asked to keep the screen on, and says what the browser answered.
  assert.match(await page.locator('#wake-lock').textContent() ?? '', /screen/)
  const peerId = await page.locator('#peer').textContent() ?? ''
  await waitFor(async () => (await client.peers()).find(peer => peer.peerId === peerId)?.offer?.cores === PHONE_CORES - 1, 20_000, 'the phone\'s offer of 3 workers')

  const ranges = primeRanges(240_000_000, 6)
  const submitted = await client.submitJob({ name: 'primes-on-a-phone', runtime: 'wasi', module: primes, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), constraints: { providers: [peerId] } })
  await waitFor(async () => (await client.job(submitted.job.id)).job.state !== 'running', 180_000, 'the phone\'s job')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'completed')
  for (const task of results.tasks) {
    assert.equal(task.provider, peerId)
    const range = ranges[task.idx]!
    assert.equal(Number((await stdoutOf(client, task.outputs)).trim()), countPrimesJs(range.from, range.to), `task ${task.idx}`)
  }
  // The page makes a worker only when none is idle: more than one means tasks ran side by side.
  const workers = await page.evaluate(() => (window as unknown as { __workersMade: number }).__workersMade)
  assert.ok(workers >= 2 && workers <= PHONE_CORES - 1, `tasks ran side by side in ${workers} workers`)
  await page.waitForFunction(n => document.querySelector('#tasks-done')?.textContent === String(n), ranges.length)
  assert.ok(await fitsTheScreen(page), 'no sideways scrolling')
  await screenshot(page, 'phone-provide.png')

  // Fewer workers, chosen on the page: the tab joins again with the same key and a smaller offer,
  // and the choice is kept for the next visit.
  await page.locator('#workers').fill('1')
  await page.locator('#workers').dispatchEvent('change')
  await page.waitForFunction(() => document.querySelector('#reason')?.textContent === '1 worker')
  await waitFor(async () => (await client.peers()).find(peer => peer.peerId === peerId)?.offer?.cores === 1, 20_000, 'the phone\'s offer of 1 worker')
  const again = await phoneContext.newPage()
  await page.close()
  await again.goto(link)
  await again.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
  assert.equal(await again.locator('#workers').inputValue(), '1')
  await again.close()
})

test('on low battery and unplugged, the phone pauses; plugged in, it provides again', async () => {
  const context = await phone({ level: 0.12, charging: false })
  try {
    const page = await context.newPage()
    await page.goto(link)
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'paused')
    assert.match(await page.locator('#reason').textContent() ?? '', /battery at 12 %/)
    const peerId = await page.locator('#peer').textContent() ?? ''
    assert.equal((await client.peers()).find(peer => peer.peerId === peerId)?.connected ?? false, false, 'a paused phone has not joined')
    await page.evaluate(() => {
      const battery = (window as unknown as { __battery: EventTarget & { charging: boolean } }).__battery
      battery.charging = true
      battery.dispatchEvent(new Event('chargingchange'))
    })
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
    await waitFor(async () => (await client.peers()).find(peer => peer.peerId === peerId)?.connected === true, 20_000, 'the plugged-in phone to join')
  } finally {
    await context.close()
  }
})
