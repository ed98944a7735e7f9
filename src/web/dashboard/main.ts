/**
 * The dashboard every node serves at /: this node, its peers with their offers and reputation,
 * jobs with live per-task progress, throughput, and a form to submit jobs. Live through the
 * node's WebSocket events; lists the events cannot carry (peers, provider state) are re-read.
 */
import { formatUnits } from 'viem'
import { coalesce } from '../common/coalesce.ts'
import { isLoopback } from '../common/loopback.ts'
import { byId, fill, formatBytes, h, shortId } from '../common/dom.ts'
import { API_TOKEN_KEY, forgetToken, keepToken, NodeApi, takeToken } from '../common/nodeApi.ts'
import { describeReachability } from '../../net/index.ts'
import { JobView } from './jobView.ts'
import { setUpSubmitForm } from './submitForm.ts'
import { drawQrCode } from './provideQr.ts'
import { ThroughputChart } from './throughputChart.ts'
import type { NodeEvent, NodeSummary, PeerSummary } from '../../sdk/browser.ts'
import type { JobStatus } from '../../requester/index.ts'

/** Peers and provider state have no events of their own: read again this often. */
const POLL_MS = 2000
/** The jobs list is re-read at most this often while events arrive. */
const JOBS_REFRESH_MS = 300

const token = takeToken(API_TOKEN_KEY)
if (token === undefined) askForToken()
else void open(new NodeApi(token))

function askForToken (message?: string): void {
  byId('app').hidden = true
  byId('login').hidden = false
  if (message !== undefined) fill(byId('login-error'), message)
  byId('login-form').addEventListener('submit', event => {
    event.preventDefault()
    const given = byId<HTMLInputElement>('token').value.trim()
    keepToken(given)
    location.reload()
  }, { once: true })
}

async function open (api: NodeApi): Promise<void> {
  try {
    await api.node()
  } catch {
    forgetToken()
    askForToken('That token was refused by the node.')
    return
  }
  byId('login').hidden = true
  byId('app').hidden = false
  // The provide link carries its own token, which lets a tab join the grid and nothing else: whoever
  // is given the link cannot use it to spend this node's funds.
  const provideLink = `${location.origin}/provide#token=${encodeURIComponent(await api.provideToken())}`
  byId<HTMLAnchorElement>('provide-link').href = provideLink
  drawQrCode(byId<HTMLCanvasElement>('provide-qr'), provideLink)
  fill(byId('provide-qr-note'), isLoopback(location.hostname)
    ? `This dashboard is open on ${location.hostname}, which a phone cannot reach: start the node with --api-host 0.0.0.0 --listen /ip4/0.0.0.0/tcp/0 --listen /ip4/0.0.0.0/tcp/0/ws and open the dashboard through this machine's LAN address.`
    : 'Scan it on a phone or tablet on this network: the tab joins the grid and lends its CPU while the page is open.')

  const chart = new ThroughputChart(byId<HTMLCanvasElement>('chart'))
  let jobs: JobStatus[] = []
  let selected: JobView | undefined

  const select = async (jobId: string) => {
    selected?.stop()
    selected = new JobView(api, byId('job'), jobId)
    byId('job-panel').hidden = false
    fill(byId('job-title'), jobId)
    renderJobs()
    await selected.load()
  }

  const renderJobs = () => {
    if (jobs.length === 0) {
      fill(byId('jobs'), h('p', { class: 'dim' }, 'No jobs yet: submit one below, or with conun job run.'))
      return
    }
    fill(byId('jobs'), h('table', { id: 'jobs-table' },
      h('tr', {}, ...['job', 'name', 'state', 'progress', 'done', 'failed', 'running', 'queued', 'providers', 'submitted'].map(name => h('th', {}, name))),
      ...jobs.map(({ job, counts, providers }) => {
        const row = h('tr', { class: `selectable${selected?.jobId === job.id ? ' selected' : ''}`, 'data-job': job.id },
          h('td', { class: 'mono' }, job.id), h('td', {}, job.spec.name), h('td', {}, h('span', { class: `pill ${job.state}` }, job.state)),
          h('td', {}, progressBar(counts.done, counts.failed, job.taskCount)),
          h('td', {}, String(counts.done)), h('td', {}, String(counts.failed)), h('td', {}, String(counts.running)), h('td', {}, String(counts.queued)),
          h('td', {}, String(providers.length)), h('td', { class: 'dim' }, new Date(job.createdAt).toLocaleTimeString()))
        row.addEventListener('click', () => void select(job.id))
        return row
      })))
  }

  const refreshJobs = coalesce(async () => {
    jobs = await api.jobs()
    renderJobs()
    const current = jobs.find(status => status.job.id === selected?.jobId)
    if (current !== undefined) selected?.update(current)
  }, JOBS_REFRESH_MS)

  const refreshNode = async () => {
    const [node, peers] = await Promise.all([api.node(), api.peers()])
    renderNode(node)
    renderPeers(peers)
  }

  const onEvents = (events: NodeEvent[]) => {
    for (const event of events) {
      if (event.source === 'provider') {
        if (event.type === 'task.finished' && event.status === 'exit') chart.count('provided')
        continue
      }
      if (event.type === 'task.done') chart.count('requested')
      if (event.jobId === selected?.jobId) selected.apply(event)
    }
    refreshJobs()
  }

  setUpSubmitForm(api, status => {
    refreshJobs()
    void select(status.job.id)
  })
  api.events(onEvents, () => {
    refreshJobs()
    void selected?.load()
  }, () => {
    forgetToken()
    askForToken('The node no longer accepts this token.')
  })
  await refreshNode()
  setInterval(() => void refreshNode().catch(() => { /* the node may be restarting */ }), POLL_MS)
  setInterval(() => {
    chart.draw()
    fill(byId('rate-requested'), `${chart.rate('requested').toFixed(1)} tasks/s`)
    fill(byId('rate-provided'), `${chart.rate('provided').toFixed(1)} tasks/s`)
  }, 1000)
  chart.draw()
}

function progressBar (done: number, failed: number, total: number): HTMLElement {
  const bar = h('div', { class: 'bar', title: `${done + failed} of ${total}` })
  const part = (n: number, kind: string, offset: number) => h('span', { class: kind, style: `left:${offset / total * 100}%;width:${n / total * 100}%` })
  if (total > 0) bar.append(part(done, 'done', 0), part(failed, 'failed', done))
  return bar
}

function renderNode (node: NodeSummary): void {
  fill(byId('who'), `${node.peerId} · ${node.address}`)
  const provider = node.provider
  const row = (label: string, value: string) => h('tr', {}, h('th', {}, label), h('td', { class: 'wrap' }, value))
  fill(byId('node'), h('table', {},
    row('peer', shortId(node.peerId)),
    row('address', shortId(node.address)),
    row('chain', String(node.chainId)),
    row('running jobs', String(node.runningJobs)),
    row('provider', provider === null
      ? 'not providing (start with --provide)'
      : `${provider.running} running · ${provider.queued} queued of ${provider.maxConcurrent} slots`),
    ...(provider === null
      ? []
      : [row('completed', `${provider.completed} done · ${provider.failed} failed · ${(provider.busyMs / 1000).toFixed(1)} s busy`), row('sessions', String(provider.sessions))]),
    ...node.multiaddrs.map((addr, i) => h('tr', {}, h('th', {}, i === 0 ? 'listening' : ''), h('td', { class: 'wrap mono' }, addr))),
    ...reachabilityRows(node)))
}

/** Who can reach this node: public, through relays (listed), or not yet known. */
function reachabilityRows (node: NodeSummary): HTMLElement[] {
  const { headline, relays } = describeReachability(node.reachability)
  return [
    h('tr', {}, h('th', {}, 'reachable'), h('td', { class: 'wrap', id: 'reachability', 'data-status': node.reachability.status }, headline)),
    ...relays.map(addr => h('tr', {}, h('th', {}, 'relay'), h('td', { class: 'wrap mono' }, addr))),
  ]
}

function renderPeers (peers: PeerSummary[]): void {
  if (peers.length === 0) {
    fill(byId('peers'), h('p', { class: 'dim' }, 'No peers yet.'))
    return
  }
  fill(byId('peers'), h('table', { id: 'peers-table' },
    h('tr', {}, ...['peer', 'connected', 'runtimes', 'cores', 'memory', 'price/task', 'cpu', 'valid', 'invalid', 'timeouts', 'errors', 'streak', 'status'].map(name => h('th', {}, name))),
    ...peers.map(peer => {
      const offer = peer.offer
      const rep = peer.reputation
      const blacklisted = rep?.blacklistedUntil !== null && rep?.blacklistedUntil !== undefined && rep.blacklistedUntil > Date.now()
      return h('tr', { 'data-peer': peer.peerId },
        h('td', { class: 'mono', title: peer.peerId }, shortId(peer.peerId)),
        // How it is reached: straight, hole-punched through NATs, or through a relay.
        h('td', {}, h('span', { class: `pill${peer.connected ? ' yes' : ''}` }, peer.connected ? [...new Set(peer.connections.map(connection => connection.path))].join(' + ') : 'no')),
        h('td', {}, offer?.runtimes.join(', ') ?? '—'),
        h('td', {}, offer === null ? '—' : String(offer.cores)),
        h('td', {}, offer === null ? '—' : formatBytes(offer.memoryBytes)),
        h('td', {}, offer === null ? '—' : `${formatUnits(BigInt(offer.pricePerTaskWei), 18)} CON`),
        h('td', { class: 'dim' }, offer?.cpuModel.slice(0, 32) ?? ''),
        h('td', {}, String(rep?.valid ?? '—')), h('td', {}, String(rep?.invalid ?? '—')), h('td', {}, String(rep?.timeouts ?? '—')),
        h('td', {}, String(rep?.errors ?? '—')), h('td', {}, String(rep?.streak ?? '—')),
        h('td', {}, blacklisted ? h('span', { class: 'pill blacklisted' }, `blacklisted until ${new Date(rep!.blacklistedUntil!).toLocaleTimeString()}`) : ''))
    })))
}
