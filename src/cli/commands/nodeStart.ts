import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadNodeConfig, readChainFile, startNode } from '../../node/index.ts'
import { relaunchAs } from '../nodeProcess.ts'
import { reachabilityLines } from '../reachability.ts'
import { resolvePassphrase } from '../passphrase.ts'
import { conFlag, intFlag, parseFlags, UsageError } from '../usage.ts'
import type { NodeConfig, NodeConfigOverrides } from '../../node/index.ts'
import type { Command } from '../usage.ts'

const help = `Usage: conun node start [options]

Runs a conun node in the foreground until interrupted (Ctrl-C or SIGTERM). Every node can request
work; with --provide it also lends this machine's cores to others.

Options:
  --provide               lend this machine: run other nodes' tasks
  --cores N               tasks to run at once when providing (default: all cores)
  --price CON             least a job must pay per task, e.g. 0.01 (default: 0, free jobs welcome)
  --claim-threshold CON   claim on chain during a job once this much is owed (default: 100)
  --runtimes LIST         sandboxes to offer, comma-separated: wasi,docker,webgpu (default: all
                          three; docker only when a Docker Engine answers on its socket, webgpu
                          only when a GPU adapter is found)
  --no-gpu                keep the GPU to yourself: do not offer webgpu
  --software-gpu          offer webgpu on SwiftShader (the GPU emulated on the CPU; slow, for
                          tests) when no GPU is found
  --max-memory MB         memory one task may use (default: 2048)
  --max-cache-disk MB     disk for fetched code and inputs, least recently used go first
                          (default: 0, no limit)
  --idle-only             take tasks only while other programs leave the CPU idle; pause
                          containers when they need it again
  --idle-threshold PCT    CPU share other programs may use before the machine is busy (default: 30)
  --idle-for SEC          how long the machine must stay quiet first (default: 60)
  --max-paused SEC        give paused tasks back after this long (default: 600)
  --window HH:MM-HH:MM    run tasks only in this daily window (local time); repeat for more
  --on-battery            also run on battery (default: pause on battery)
  --listen MULTIADDR      address to listen on; repeat for more
                          (default: /ip4/127.0.0.1/tcp/0 and /ip4/127.0.0.1/tcp/0/ws)
  --bootstrap MULTIADDR   a peer to join the network through (with /p2p/<id>); repeat for more
  --announce MULTIADDR    an address others can dial this node at besides its listen addresses
                          (a port forwarded by hand on the router); repeat for more
  --no-relay              do not relay for peers behind NATs (a node with a public address
                          relays by default)
  --data-dir DIR          keys, database, storage and config (default: $CONUN_DATA_DIR or ~/.conun)
  --api-host HOST         where the local API listens (default: 127.0.0.1)
  --api-port PORT         API port; 0 picks a free one (default: 0)
  --chain-id ID           chain the node settles on (default: 31337, the local dev chain)
  --rpc URL               the chain's JSON-RPC endpoint; without it the node starts an embedded
                          dev chain and deploys the contracts itself
  --token ADDRESS         the CON token contract (with --rpc)
  --escrow ADDRESS        the JobEscrow contract (with --rpc)
  --chain FILE_OR_URL     join the chain a chain.json names ("conun chain deploy" writes one):
                          its chain id, RPC endpoint (--rpc overrides it), contracts and
                          deployment block
  --confirmations N       blocks on top before an escrow counts as open and a settlement as
                          done (default: 0; use a few on a public chain)
  --max-fee GWEI          the most a transaction may pay per gas; over it, the node waits for
                          fees to fall (default: what the chain asks)
  --passphrase-file FILE  read the keystore passphrase from FILE's first line
                          (otherwise $CONUN_PASSPHRASE, or you are asked on the terminal)
  --devnet                use the well-known devnet passphrase and a light keystore KDF:
                          INSECURE, for local demos and tests only
  --json                  print the ready line as JSON (for scripts; without the API token,
                          which is in DIR/api-token)
  -h, --help              show this help

Configuration is read from DIR/config.json when present (see README.md); flags override it.`

export const nodeStart: Command = {
  name: 'node start',
  summary: 'run a node (requester, and provider with --provide)',
  help,
  async run (argv) {
    const { values } = parseFlags(argv, {
      provide: { type: 'boolean' },
      cores: { type: 'string' },
      price: { type: 'string' },
      'claim-threshold': { type: 'string' },
      runtimes: { type: 'string' },
      'no-gpu': { type: 'boolean' },
      'software-gpu': { type: 'boolean' },
      'max-memory': { type: 'string' },
      'max-cache-disk': { type: 'string' },
      'idle-only': { type: 'boolean' },
      'idle-threshold': { type: 'string' },
      'idle-for': { type: 'string' },
      'max-paused': { type: 'string' },
      window: { type: 'string', multiple: true },
      'on-battery': { type: 'boolean' },
      listen: { type: 'string', multiple: true },
      bootstrap: { type: 'string', multiple: true },
      announce: { type: 'string', multiple: true },
      'no-relay': { type: 'boolean' },
      'data-dir': { type: 'string' },
      'api-host': { type: 'string' },
      'api-port': { type: 'string' },
      'chain-id': { type: 'string' },
      rpc: { type: 'string' },
      token: { type: 'string' },
      escrow: { type: 'string' },
      chain: { type: 'string' },
      confirmations: { type: 'string' },
      'max-fee': { type: 'string' },
      'passphrase-file': { type: 'string' },
      devnet: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }, help, { min: 0, max: 0 })
    const cores = intFlag(values.cores, 'cores', help, 1, 4096)
    const overrides: NodeConfigOverrides = {
      dataDir: values['data-dir'],
      listen: values.listen,
      bootstrap: values.bootstrap,
      network: { announce: values.announce, relay: values['no-relay'] === true ? 'off' : undefined },
      apiHost: values['api-host'],
      apiPort: intFlag(values['api-port'], 'api-port', help, 0, 65535),
      chainId: intFlag(values['chain-id'], 'chain-id', help, 1, Number.MAX_SAFE_INTEGER),
      devnet: values.devnet,
      provide: values.provide,
      // Checked with the rest of the configuration: an unknown runtime is a ConfigError naming the key.
      provider: {
        cores,
        pricePerTaskWei: values.price === undefined ? undefined : String(conFlag(values.price, 'price', help)),
        claimThresholdWei: values['claim-threshold'] === undefined ? undefined : String(conFlag(values['claim-threshold'], 'claim-threshold', help)),
        runtimes: values.runtimes?.split(',') as NodeConfig['provider']['runtimes'] | undefined,
        softwareGpu: values['software-gpu'],
        maxTaskMemoryMb: intFlag(values['max-memory'], 'max-memory', help, 6, 1024 * 1024),
        maxCacheMb: intFlag(values['max-cache-disk'], 'max-cache-disk', help, 0, Number.MAX_SAFE_INTEGER),
        lending: {
          idleOnly: values['idle-only'],
          busyAbovePercent: intFlag(values['idle-threshold'], 'idle-threshold', help, 0, 100),
          idleForSec: intFlag(values['idle-for'], 'idle-for', help, 0, 24 * 3600),
          maxPausedSec: intFlag(values['max-paused'], 'max-paused', help, 0, 7 * 24 * 3600),
          windows: values.window,
          runOnBattery: values['on-battery'],
        },
      },
      chain: { rpcUrl: values.rpc, token: values.token, escrow: values.escrow, confirmations: intFlag(values.confirmations, 'confirmations', help, 0, 256), maxFeeGwei: gweiFlag(values['max-fee'], help) },
    }
    if (values.chain !== undefined) {
      if (values.token !== undefined || values.escrow !== undefined) throw new UsageError('--chain names the contracts: give it without --token and --escrow', help)
      const file = await readChainFile(values.chain)
      overrides.chainId ??= file.chainId
      overrides.chain = { ...overrides.chain, rpcUrl: values.rpc ?? file.rpcUrl, token: file.token, escrow: file.escrow, deploymentBlock: file.deploymentBlock }
    }
    const loaded = await loadNodeConfig(overrides, async path => readFile(path, 'utf8').catch(() => undefined))
    // After loading, so that it also takes webgpu out of the runtimes config.json names.
    const config = values['no-gpu'] === true
      ? { ...loaded, provider: { ...loaded.provider, runtimes: loaded.provider.runtimes.filter(runtime => runtime !== 'webgpu') } }
      : loaded
    // A provider by its config.json (with --provide it relaunched as one before the commands loaded).
    if (config.provide) await relaunchAs('provider')
    const { passphrase, source } = await resolvePassphrase({ devnet: config.devnet, passphraseFile: values['passphrase-file'] })
    if (config.devnet) console.error(`warning: devnet node key, passphrase is the ${source}`)
    // A node serves many peers: one stray failure is logged, it must not take the node down.
    process.on('unhandledRejection', error => console.error('unhandled rejection (the node keeps running):', error))
    const node = await startNode(config, passphrase)
    const apiTokenFile = join(config.dataDir, 'api-token')
    const ready = {
      event: 'ready',
      peerId: node.key.peerId.toString(),
      address: node.key.address,
      multiaddrs: node.host.getMultiaddrs().map(addr => addr.toString()),
      reachability: node.reachability(),
      apiUrl: node.api.url,
      // Never the token: this line goes to logs. Scripts read it from apiTokenFile.
      dashboardUrl: `${node.api.url}/`,
      apiTokenFile,
      dataDir: config.dataDir,
      provide: config.provide,
    }
    if (values.json === true) console.log(JSON.stringify(ready))
    else {
      // Only a person at a terminal gets the token, in the URL fragment (which the browser never sends;
      // the page keeps it for the tab). Redirected output may end up in a log.
      const dashboard = process.stdout.isTTY === true ? `${ready.dashboardUrl}#token=${(await readFile(apiTokenFile, 'utf8')).trim()}` : ready.dashboardUrl
      console.log(`conun node ${ready.peerId}`)
      console.log(`  address   ${ready.address}`)
      for (const addr of ready.multiaddrs) console.log(`  listening ${addr}`)
      for (const line of reachabilityLines(ready.reachability)) console.log(`  ${line}`)
      console.log(`  api       ${ready.apiUrl} (token in ${apiTokenFile})`)
      console.log(`  dashboard ${dashboard}`)
      console.log(`  role      requester${config.provide ? ` + provider (${config.provider.cores} cores)` : ''}`)
    }
    await new Promise<void>(resolve => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    await node.stop()
    if (values.json !== true) console.log('stopped')
    return 0
  },
}

/** A fee cap in gwei given on the command line, e.g. 30 or 0.5. */
function gweiFlag (value: string | undefined, help: string): number | undefined {
  if (value === undefined) return undefined
  const gwei = Number(value)
  if (!/^\d+(\.\d+)?$/.test(value) || !(gwei > 0) || gwei > 1_000_000) throw new UsageError(`--max-fee must be a positive number of gwei (e.g. 30 or 0.5), got "${value}"`, help)
  return gwei
}
