// Browser tabs earn CON: a tab's offer names the payout address its user saved, it checks the
// requester's payment line through the node that served it (a read-only window on the chain), keeps
// the requester's receipts, and the requester's settlement pays its payout address on the real dev chain.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatUnits, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { buildExamples } from '../../scripts/build-examples.ts'
import { primeRanges, primeTaskArgs } from '../../examples/primes/primes.ts'
import { startLocalGrid } from '../../src/devnet/index.ts'
import { createLedgerClient, readConBalance } from '../../src/ledger/index.ts'
import { ensureWebBundle } from '../../src/web/index.ts'
import { isSettled, waitFor } from '../helpers.ts'
import { launchChromium, provideLink } from './browser.ts'
import type { Page } from 'playwright-core'
import type { Address } from 'viem'

const PRICE = '0.01'
const [examples] = await Promise.all([buildExamples({ log: () => {} }), ensureWebBundle()])
const primes = examples.find(path => path.endsWith('primes.wasm'))!
const grid = await startLocalGrid({ providers: 0, coresPerProvider: 1 })
const browser = await launchChromium()
test.after(async () => {
  await browser.close()
  await grid.stop()
})
const client = grid.requester.client
const reader = createLedgerClient(grid.chain.info, new Uint8Array(32).fill(1))
const link = await provideLink(browser, grid.requester)

/** A fresh wallet address that holds nothing yet: whatever it ends with, the tab earned. */
const freshAddress = (): Address => privateKeyToAddress(generatePrivateKey())

/** Types an address into the tab's payout form and saves it; returns what the form then says. */
async function savePayout (page: Page, text: string): Promise<string> {
  await page.locator('#payout').fill(text)
  await page.locator('#payout-form button[type=submit]').click()
  return await page.locator('#payout-saved').textContent() ?? ''
}

async function offeredPayout (peerId: string): Promise<string | undefined> {
  return (await client.peers()).find(peer => peer.peerId === peerId)?.offer?.payout
}

/** Uncaught errors in the tabs (the provider code shared with nodes must run in a browser as it is). */
const pageErrors: string[] = []
// Two tabs (each page its own browser context: its own session key and saved payout address).
const tabs = await Promise.all([0, 1].map(async () => {
  const page = await browser.newPage()
  page.on('pageerror', error => pageErrors.push(error.message))
  await page.goto(link)
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
  return { page, peerId: await page.locator('#peer').textContent() ?? '', sessionAddress: await page.locator('#address').textContent() ?? '', payout: freshAddress() }
}))

test('a tab is paid at its session key until its user saves a wallet address, which its offer then names', async () => {
  const [tab] = tabs
  assert.equal(await tab!.page.locator('#payout-address').textContent(), tab!.sessionAddress)
  assert.match(await tab!.page.locator('#payout-saved').textContent() ?? '', /lost when the tab closes/)
  for (const { page, peerId, payout } of tabs) {
    // Saved in lower case; the page and the offer carry the checksummed address.
    assert.match(await savePayout(page, payout.toLowerCase()), /earnings go to 0x/)
    assert.equal(await page.locator('#payout-address').textContent(), payout)
    await waitFor(async () => await offeredPayout(peerId) === payout, 30_000, 'the tab\'s offer with its payout address')
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'providing')
  }
})

test('a malformed payout address is refused with what is wrong, and the one saved before stays', async () => {
  const { page, peerId, payout } = tabs[0]!
  assert.equal(await savePayout(page, '0x1234'), 'not saved: an address is 0x followed by 40 hex digits')
  // A checksummed address (0x52908400098527886E0F7030069857D2E4169EE7) with one letter's case mistyped.
  assert.match(await savePayout(page, '0x52908400098527886E0F7030069857D2E4169Ee7'), /^not saved: .*checksum/)
  assert.match(await savePayout(page, `0x${'0'.repeat(40)}`), /^not saved: the zero address/)
  assert.equal(await page.locator('#payout-address').textContent(), payout)
  assert.equal(await offeredPayout(peerId), payout, 'the offer still pays the saved address')
})

test('the node\'s chain window serves a tab reads of conun\'s contracts only', async () => {
  const { page } = tabs[0]!
  const rpc = (body: unknown) => page.evaluate(async body => {
    const token = sessionStorage.getItem('conun.provideToken')
    const response = await fetch('/v1/provide/chain', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: response.status, text: await response.text() }
  }, body)
  assert.equal((await rpc({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: ['0x00'] })).status, 400, 'nothing is sent through it')
  assert.equal((await rpc({ jsonrpc: '2.0', id: 2, method: 'eth_getBalance', params: [tabs[0]!.payout, 'latest'] })).status, 400, 'a method it does not serve')
  const other = await rpc({ jsonrpc: '2.0', id: 3, method: 'eth_call', params: [{ to: grid.requester.address, data: '0x' }] })
  assert.equal(other.status, 403)
  assert.match(other.text, /token and escrow/)
})

test('two tabs work for a paid job; the settlement pays each payout address exactly price × its accepted results', async () => {
  const before = await Promise.all(tabs.map(tab => readConBalance(reader, tab.payout)))
  assert.deepEqual(before, [0n, 0n])
  const ranges = primeRanges(40_000_000, 40)
  const submitted = await client.submitJob({ name: 'paid primes in tabs', runtime: 'wasi', module: primes, tasks: ranges.map(range => ({ args: primeTaskArgs(range) })), price: PRICE, constraints: { providers: tabs.map(tab => tab.peerId) } })
  await waitFor(async () => isSettled((await client.job(submitted.job.id)).payment?.state), 240_000, 'the job to be settled')
  const results = await client.results(submitted.job.id)
  assert.equal(results.job.state, 'completed')
  const price = parseEther(PRICE)
  const accepted = new Map<string, number>()
  for (const task of results.tasks) {
    assert.equal(task.state, 'done')
    accepted.set(task.providerAddress!.toLowerCase(), (accepted.get(task.providerAddress!.toLowerCase()) ?? 0) + 1)
  }
  assert.equal([...accepted.values()].reduce((sum, n) => sum + n, 0), ranges.length)
  for (const tab of tabs) {
    const results = accepted.get(tab.payout.toLowerCase()) ?? 0
    assert.ok(results > 0, `tab ${tab.peerId} did work, paid at its payout address`)
    assert.equal(await readConBalance(reader, tab.payout), price * BigInt(results), `tab ${tab.peerId}'s payout address holds price × ${results}`)
    assert.equal(accepted.get(tab.sessionAddress.toLowerCase()), undefined, 'nothing is paid at the session key')
    // The page sees its receipts paid by the settlement, and the balance on chain.
    const earned = formatUnits(price * BigInt(results), 18)
    await tab.page.waitForFunction(earned => document.querySelector('#owed')?.textContent === earned && document.querySelector('#paid')?.textContent === earned, earned, { timeout: 60_000 })
    await tab.page.waitForFunction(earned => document.querySelector('#payout-balance')?.textContent === `${earned} CON`, earned, { timeout: 30_000 })
  }
  const status = (await client.job(submitted.job.id)).payment!
  assert.equal(status.paidWei, String(price * BigInt(ranges.length)))
  assert.deepEqual(pageErrors, [], 'no uncaught error in the tabs')
})
