/**
 * The /provide page: this tab lends its CPU to the grid of the node that served it. It starts at
 * once in as many workers as the device can spare, keeps the screen on while it works (where the
 * browser allows), stops while the tab is hidden or the battery is low (where the browser tells),
 * and shows what it has given and earned: what receipts say it is owed, what the escrow paid, and
 * its payout address's CON, read through the node that served it.
 */
import { formatUnits } from 'viem'
import { byId, fill, shortId } from '../common/dom.ts'
import { NodeApi, PROVIDE_TOKEN_KEY, takeToken } from '../common/nodeApi.ts'
import { ConunApiError } from '../../sdk/browser.ts'
import { readConBalance } from '../../ledger/index.ts'
import { pickBootstrapAddress } from './bootstrapAddress.ts'
import { keepPayoutAddress, keptPayoutAddress, parsePayoutAddress } from './payoutAddress.ts'
import { ScreenWakeLock } from './screenWakeLock.ts'
import { loadOrCreateSessionKey } from './sessionKey.ts'
import { availableCores, clampWorkers, initialWorkers, keepWorkers } from './workerCount.ts'
import { startBrowserProvider } from './browserProvider.ts'
import { tabChainReader } from './tabChain.ts'
import { TabReceiptBook } from './tabReceiptBook.ts'
import type { BrowserProvider } from './browserProvider.ts'
import type { ProvideSummary } from '../../sdk/browser.ts'
import type { Address } from 'viem'

const LOW_BATTERY = 0.2
/** How often the payout address's balance is read from the chain. */
const BALANCE_EVERY_MS = 3_000

interface BatteryManager extends EventTarget {
  readonly charging: boolean
  readonly level: number
}

// The provide link's token: it tells this tab where to join and can do nothing else on the node.
const token = takeToken(PROVIDE_TOKEN_KEY)
if (token === undefined) fill(byId('errors'), 'Open this page through the provide link on the node\'s dashboard.')
else void run(new NodeApi(token), token)

async function run (api: NodeApi, token: string): Promise<void> {
  let node: ProvideSummary
  try {
    node = await api.provideInfo()
  } catch (error) {
    const refused = error instanceof ConunApiError && error.status === 401
    fill(byId('errors'), refused ? 'The node does not accept this provide link: ask for a new one.' : `cannot reach the node: ${(error as Error).message}`)
    return
  }
  const bootstrap = pickBootstrapAddress(node.multiaddrs, location.hostname)
  if (bootstrap === undefined) {
    fill(byId('errors'), node.multiaddrs.length === 0
      ? 'The node does not listen on WebSockets (add a /ws listen address).'
      : 'The node listens for WebSockets on loopback only, which this device cannot reach: start it with --listen /ip4/0.0.0.0/tcp/0/ws.')
    return
  }
  const key = await loadOrCreateSessionKey()
  let slots = initialWorkers(location.search)
  // A tab asks nothing: it takes free jobs and any paid one whose requester's payment line it finds sound.
  const pricePerTaskWei = '0'
  const chain = tabChainReader(node, token)
  let payout: Address = keptPayoutAddress() ?? key.address
  let receipts = new TabReceiptBook({ ...chain.info, deployment: node.chain.deployment }, payout)
  fill(byId('who'), `${key.peerId.toString()} · ${key.address}`)
  fill(byId('peer'), key.peerId.toString())
  fill(byId('address'), key.address)
  fill(byId('bootstrap'), bootstrap)
  fill(byId('price'), `${formatUnits(BigInt(pricePerTaskWei), 18)} CON`)

  const totals = { done: 0, failed: 0, busyMs: 0, gpuDone: 0 }
  let provider: BrowserProvider | undefined
  let transition = Promise.resolve()
  let stoppedByUser = false
  let battery: BatteryManager | undefined
  const wakeLock = new ScreenWakeLock()
  const showWakeLock = (state: string) => fill(byId('wake-lock'), {
    held: 'The screen stays on while this tab provides.',
    refused: 'The browser did not let this page keep the screen on: providing pauses when the screen turns off.',
    unsupported: 'This browser cannot keep the screen on: providing pauses when the screen turns off.',
    released: '',
  }[state] ?? '')

  const pauseReason = () => {
    if (stoppedByUser) return 'stopped'
    if (document.visibilityState === 'hidden') return 'paused: the tab is hidden'
    if (battery !== undefined && !battery.charging && battery.level < LOW_BATTERY) return `paused: battery at ${Math.round(battery.level * 100)} %`
    return undefined
  }
  const show = (state: string, reason = '') => {
    const pill = byId('state')
    pill.className = `pill ${state === 'providing' ? 'yes' : state === 'stopped' ? 'failed' : 'cancelled'}`
    fill(pill, state)
    fill(byId('reason'), reason)
    fill(byId('toggle'), stoppedByUser ? 'Start' : 'Stop')
  }
  // Starting and stopping are chained, so a quick hide-and-show never runs two hosts at once.
  const reconcile = () => {
    transition = transition.then(async () => {
      const reason = pauseReason()
      if (reason === undefined && provider === undefined) {
        show('joining')
        provider = await startBrowserProvider({ key, chainId: node.chainId, bootstrap, slots, pricePerTaskWei, payout, chain, receipts })
        provider.agent.events.on(event => {
          if (event.type !== 'task.finished') return
          if (event.status === 'exit') totals.done++
          else totals.failed++
        })
        show('providing', `${slots} worker${slots === 1 ? '' : 's'}`)
        showWakeLock(await wakeLock.hold())
      } else if (reason !== undefined && provider !== undefined) {
        totals.busyMs += provider.busyMs()
        totals.gpuDone += provider.gpuTasksDone()
        const stopping = provider
        provider = undefined
        await stopping.stop()
        showWakeLock(await wakeLock.release())
        show(reason === 'stopped' ? 'stopped' : 'paused', reason)
      } else if (reason !== undefined) {
        show(reason === 'stopped' ? 'stopped' : 'paused', reason)
      }
    }).catch(error => fill(byId('errors'), `could not join the grid: ${(error as Error).message}`))
  }

  // A new worker count takes effect by leaving the grid and joining again with the same key: the
  // slots are in the offer. Tasks it was running are left, and the requester gives them to a provider again.
  const restart = () => {
    transition = transition.then(async () => {
      if (provider === undefined) return
      totals.busyMs += provider.busyMs()
      totals.gpuDone += provider.gpuTasksDone()
      const stopping = provider
      provider = undefined
      await stopping.stop()
    })
    reconcile()
  }
  setUpWorkerCount(slots, count => {
    slots = count
    restart()
  })
  // A new payout address goes in the offer: the tab joins again, and requesters pay it from then on.
  setUpPayout(payout, key.address, address => {
    payout = address
    receipts = new TabReceiptBook({ ...chain.info, deployment: node.chain.deployment }, payout)
    restart()
  })

  byId('toggle').addEventListener('click', () => {
    stoppedByUser = !stoppedByUser
    reconcile()
  })
  document.addEventListener('visibilitychange', reconcile)
  window.addEventListener('pagehide', () => void provider?.stop())
  const getBattery = (navigator as { getBattery?: () => Promise<BatteryManager> }).getBattery
  if (getBattery !== undefined) {
    battery = await getBattery.call(navigator)
    battery.addEventListener('levelchange', reconcile)
    battery.addEventListener('chargingchange', reconcile)
  }
  reconcile()

  setInterval(() => {
    const status = provider?.agent.status()
    fill(byId('tasks-done'), String(totals.done))
    fill(byId('tasks-failed'), String(totals.failed))
    fill(byId('gpu-tasks'), String(totals.gpuDone + (provider?.gpuTasksDone() ?? 0)))
    fill(byId('running'), String(status?.running ?? 0))
    fill(byId('cpu-time'), `${((totals.busyMs + (provider?.busyMs() ?? 0)) / 1000).toFixed(1)} s`)
    const { owedWei, paidWei } = receipts.totals()
    fill(byId('owed'), formatUnits(owedWei, 18))
    fill(byId('paid'), formatUnits(paidWei, 18))
  }, 250)
  const showBalance = () => readConBalance(chain, payout)
    .then(balance => fill(byId('payout-balance'), `${formatUnits(balance, 18)} CON`))
    .catch((error: unknown) => fill(byId('payout-balance'), `cannot read the chain through the node: ${(error as Error).message.split('\n')[0]}`))
  void showBalance()
  setInterval(() => void showBalance(), BALANCE_EVERY_MS)
}

function setUpWorkerCount (initial: number, change: (count: number) => void): void {
  const input = byId<HTMLInputElement>('workers')
  const cores = availableCores()
  input.max = String(cores)
  input.value = String(initial)
  fill(byId('workers-note'), `of ${cores} core${cores === 1 ? '' : 's'} this device reports`)
  input.addEventListener('change', () => {
    const count = clampWorkers(Number(input.value), cores)
    input.value = String(count)
    keepWorkers(count)
    change(count)
  })
}

function setUpPayout (initial: Address, sessionAddress: Address, change: (address: Address) => void): void {
  const input = byId<HTMLInputElement>('payout')
  const saved = byId('payout-saved')
  const showPayout = (address: Address) => {
    fill(byId('payout-address'), address)
    fill(saved, address === sessionAddress
      ? 'earnings go to this tab\'s session key, which is lost when the tab closes: save your own wallet\'s address'
      : `earnings go to ${shortId(address)}`)
  }
  if (initial !== sessionAddress) input.value = initial
  showPayout(initial)
  byId('payout-form').addEventListener('submit', event => {
    event.preventDefault()
    let address: Address
    try {
      address = parsePayoutAddress(input.value)
    } catch (error) {
      saved.classList.add('errors')
      fill(saved, `not saved: ${(error as Error).message}`)
      return
    }
    saved.classList.remove('errors')
    keepPayoutAddress(address)
    input.value = address
    showPayout(address)
    change(address)
  })
}
