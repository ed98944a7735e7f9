/**
 * A small internet inside Linux network namespaces, for tests of conun across NATs (root only).
 *
 *   public hosts ──┐
 *                  ├── "internet" (a bridge in its own namespace, 7.77.0.0/16)
 *   NAT routers ───┘      each router: MASQUERADE (or --random-fully: a symmetric NAT) and, like
 *      └── LAN 10.77.N.0/24 ── hosts      a home router, drops unsolicited packets from outside
 *
 * 7.77.0.0/16 stands for public addresses (libp2p treats the reserved test ranges as private, which
 * would change what it does); no packet to it leaves the namespaces: the host gets a blackhole
 * route for it while the internet exists. Every namespace also has a management link to the host
 * (10.250.x.y/30) on which its node's API listens, so the test drives nodes through their API.
 * Names carry this process's id, so a stale topology from a crashed run is recognised and removed.
 */
import { execFileSync } from 'node:child_process'

const PUBLIC_PREFIX = '7.77'
const PUBLIC_RANGE = `${PUBLIC_PREFIX}.0.0/16`

export interface NetHost {
  readonly name: string
  readonly namespace: string
  /** The host's own address: public, or on its router's LAN. */
  readonly ip: string
  /** Where the test reaches it (management link); a node's API listens here. */
  readonly managementIp: string
  /** The public address its packets leave with (its own, or its NAT router's). */
  readonly publicIp: string
}

export interface NatRouter {
  readonly name: string
  readonly publicIp: string
  addHost(name: string): NetHost
}

export interface Internet {
  addPublicHost(name: string): NetHost
  /** A home router; `symmetric` maps every new destination to a new port, so hole punching fails. */
  addNat(name: string, options?: { symmetric?: boolean }): NatRouter
  /** The command that runs `argv` inside a host's namespace. */
  exec(host: NetHost, argv: readonly string[]): string[]
  destroy(): void
}

const run = (...argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
const inNs = (ns: string, ...argv: string[]) => run('ip', 'netns', 'exec', ns, ...argv)

/** Removes topologies left by earlier runs whose process has gone. */
function removeStale (): void {
  for (const line of run('ip', 'netns', 'list').split('\n')) {
    const match = /^(cn(\d+)-\S+)/.exec(line)
    if (match === null) continue
    try {
      process.kill(Number(match[2]), 0)
    } catch {
      run('ip', 'netns', 'del', match[1]!)
    }
  }
  for (const line of run('ip', '-o', 'link', 'show').split('\n')) {
    const match = /^\d+: (cm(\d+)x\d+)[@:]/.exec(line)
    if (match === null) continue
    try {
      process.kill(Number(match[2]), 0)
    } catch {
      run('ip', 'link', 'del', match[1]!)
    }
  }
}

export function createInternet (): Internet {
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root')
  removeStale()
  const tag = `cn${process.pid}`
  const namespaces: string[] = []
  const links: string[] = []
  // Management /30s: one block of 64 per process, so test files running at once never collide.
  const mgmtBase = (process.pid % 256) * 64
  let hosts = 0
  let lans = 0
  let publicIps = 10

  const namespace = (name: string) => {
    const ns = `${tag}-${name}`
    run('ip', 'netns', 'add', ns)
    namespaces.push(ns)
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up')
    return ns
  }
  const internet = namespace('inet')
  inNs(internet, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
  inNs(internet, 'ip', 'link', 'set', 'br0', 'up')
  const addedBlackhole = !run('ip', 'route', 'show', PUBLIC_RANGE).includes('blackhole')
  if (addedBlackhole) run('ip', 'route', 'add', 'blackhole', PUBLIC_RANGE)

  /** A veth from `ns` (there named `ifname`, with address `cidr`) to port `port` of `bridge` in `bridgeNs`. */
  const plug = (ns: string, ifname: string, cidr: string, bridgeNs: string, bridge: string, port: string) => {
    run('ip', 'link', 'add', ifname, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', bridgeNs)
    inNs(bridgeNs, 'ip', 'link', 'set', port, 'master', bridge)
    inNs(bridgeNs, 'ip', 'link', 'set', port, 'up')
    inNs(ns, 'ip', 'addr', 'add', cidr, 'dev', ifname)
    inNs(ns, 'ip', 'link', 'set', ifname, 'up')
  }
  /** Plugs `ns` into the internet bridge (as `wan`), with a public address. */
  const attachToInternet = (ns: string) => {
    const ip = `${PUBLIC_PREFIX}.0.${publicIps++}`
    plug(ns, 'wan', `${ip}/16`, internet, 'br0', `p${publicIps}`)
    return ip
  }
  const attachManagement = (ns: string) => {
    const n = hosts++
    const block = mgmtBase + n
    const net = `10.250.${Math.floor(block / 64)}.${(block % 64) * 4}`
    const [a, b, c, d] = net.split('.').map(Number) as [number, number, number, number]
    const hostSide = `${a}.${b}.${c}.${d + 1}`
    const nsSide = `${a}.${b}.${c}.${d + 2}`
    const link = `cm${process.pid}x${n}`
    run('ip', 'link', 'add', link, 'type', 'veth', 'peer', 'name', 'mgmt', 'netns', ns)
    links.push(link)
    run('ip', 'addr', 'add', `${hostSide}/30`, 'dev', link)
    run('ip', 'link', 'set', link, 'up')
    inNs(ns, 'ip', 'addr', 'add', `${nsSide}/30`, 'dev', 'mgmt')
    inNs(ns, 'ip', 'link', 'set', 'mgmt', 'up')
    return nsSide
  }

  return {
    addPublicHost (name) {
      const ns = namespace(name)
      const ip = attachToInternet(ns)
      return { name, namespace: ns, ip, publicIp: ip, managementIp: attachManagement(ns) }
    },
    addNat (name, options = {}) {
      const router = namespace(name)
      const publicIp = attachToInternet(router)
      const lan = `10.77.${++lans}`
      inNs(router, 'ip', 'link', 'add', 'lan', 'type', 'bridge')
      inNs(router, 'ip', 'addr', 'add', `${lan}.1/24`, 'dev', 'lan')
      inNs(router, 'ip', 'link', 'set', 'lan', 'up')
      inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
      inNs(router, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE', ...(options.symmetric === true ? ['--random-fully'] : []))
      // What a home router's firewall does: nothing from outside gets in unless it answers
      // something sent from inside. (Without it, Linux keeps a conntrack entry for a stray probe
      // that then blocks the very mapping hole punching needs.)
      inNs(router, 'iptables', '-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'NEW,INVALID', '-j', 'DROP')
      inNs(router, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'NEW,INVALID', '-j', 'DROP')
      let lanHosts = 1
      return {
        name,
        publicIp,
        addHost (hostName) {
          const ns = namespace(hostName)
          const ip = `${lan}.${++lanHosts}`
          plug(ns, 'eth0', `${ip}/24`, router, 'lan', `h${lanHosts}`)
          inNs(ns, 'ip', 'route', 'add', 'default', 'via', `${lan}.1`)
          return { name: hostName, namespace: ns, ip, publicIp, managementIp: attachManagement(ns) }
        },
      }
    },
    exec: (host, argv) => ['ip', 'netns', 'exec', host.namespace, ...argv],
    destroy () {
      for (const ns of namespaces.reverse()) {
        try {
          run('ip', 'netns', 'del', ns)
        } catch { /* already gone */ }
      }
      for (const link of links) {
        try {
          run('ip', 'link', 'del', link)
        } catch { /* went with its namespace */ }
      }
      if (addedBlackhole) {
        try {
          run('ip', 'route', 'del', 'blackhole', PUBLIC_RANGE)
        } catch { /* already gone */ }
      }
    },
  }
}
