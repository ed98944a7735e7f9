/**
 * The /provide page: this tab lends its CPU to the grid of the node that served it. It starts at
 * once, stops while the tab is hidden or the battery is low (where the browser tells), and shows
 * what it has given and earned.
 */
import { formatUnits } from 'viem'
import { byId, fill, shortId } from '../common/dom.ts'
import { ApiRequestError, NodeApi, PROVIDE_TOKEN_KEY, takeToken } from '../common/nodeApi.ts'
import { loadOrCreateSessionKey } from './sessionKey.ts'
import { startBrowserProvider } from './browserProvider.ts'
import type { BrowserProvider } from './browserProvider.ts'
import type { ProvideSummary } from '../../sdk/index.ts'

const PAYOUT_KEY = 'conun.payoutAddress'
const LOW_BATTERY = 0.2

interface BatteryManager extends EventTarget {
  readonly charging: boolean
  readonly level: number
}

// The provide link's token: it tells this tab where to join and can do nothing else on the node.
const token = takeToken(PROVIDE_TOKEN_KEY)
if (token === undefined) fill(byId('errors'), 'Open this page through the provide link on the node\'s dashboard.')
else void run(new NodeApi(token))

async function run (api: NodeApi): Promise<void> {
  let node: ProvideSummary
  try {
    node = await api.provideInfo()
  } catch (error) {
    const refused = error instanceof ApiRequestError && error.status === 401
    fill(byId('errors'), refused ? 'The node does not accept this provide link: ask for a new one.' : `cannot reach the node: ${(error as Error).message}`)
    return
  }
  const bootstrap = node.multiaddrs[0]
  if (bootstrap === undefined) {
    fill(byId('errors'), 'The node does not listen on WebSockets (add a /ws listen address).')
    return
  }
  const key = await loadOrCreateSessionKey()
  const params = new URLSearchParams(location.search)
  const slots = Math.max(1, Math.min(Number(params.get('slots') ?? 1) || 1, navigator.hardwareConcurrency || 1))
  // A tab holds no chain client to check escrows and claim receipts with (yet), so it asks nothing
  // and takes free jobs; a provider asking a price without one refuses every agreement.
  const pricePerTaskWei = '0'
  fill(byId('who'), `${key.peerId.toString()} · ${key.address}`)
  fill(byId('peer'), key.peerId.toString())
  fill(byId('address'), key.address)
  fill(byId('bootstrap'), bootstrap)
  fill(byId('price'), `${formatUnits(BigInt(pricePerTaskWei), 18)} CON`)
  setUpPayout()

  const totals = { done: 0, failed: 0, busyMs: 0 }
  let provider: BrowserProvider | undefined
  let transition = Promise.resolve()
  let stoppedByUser = false
  let battery: BatteryManager | undefined

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
        provider = await startBrowserProvider({ key, chainId: node.chainId, bootstrap, slots, pricePerTaskWei })
        provider.agent.events.on(event => {
          if (event.type !== 'task.finished') return
          if (event.status === 'exit') totals.done++
          else totals.failed++
        })
        show('providing', `${slots} worker${slots === 1 ? '' : 's'}`)
      } else if (reason !== undefined && provider !== undefined) {
        totals.busyMs += provider.busyMs()
        const stopping = provider
        provider = undefined
        await stopping.stop()
        show(reason === 'stopped' ? 'stopped' : 'paused', reason)
      } else if (reason !== undefined) {
        show(reason === 'stopped' ? 'stopped' : 'paused', reason)
      }
    }).catch(error => fill(byId('errors'), `could not join the grid: ${(error as Error).message}`))
  }

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
    fill(byId('running'), String(status?.running ?? 0))
    fill(byId('cpu-time'), `${((totals.busyMs + (provider?.busyMs() ?? 0)) / 1000).toFixed(1)} s`)
    fill(byId('earnings'), formatUnits(BigInt(totals.done) * BigInt(pricePerTaskWei), 18))
  }, 250)
}

function setUpPayout (): void {
  const input = byId<HTMLInputElement>('payout')
  const saved = byId('payout-saved')
  const kept = localStorage.getItem(PAYOUT_KEY)
  if (kept !== null) {
    input.value = kept
    fill(saved, `earnings go to ${shortId(kept)}`)
  }
  byId('payout-form').addEventListener('submit', event => {
    event.preventDefault()
    const address = input.value.trim()
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
      fill(saved, 'an address is 0x followed by 40 hex digits')
      return
    }
    localStorage.setItem(PAYOUT_KEY, address)
    fill(saved, `saved: earnings go to ${shortId(address)}`)
  })
}
