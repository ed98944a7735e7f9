import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { fundFromFaucet, startDevChain } from '../ledger/index.ts'
import { ConunClient } from '../sdk/index.ts'
import { Semaphore } from '../util/index.ts'
import type { DevChain } from '../ledger/index.ts'
import type { Address } from 'viem'
import type { ChildProcess } from 'node:child_process'

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.ts')

export interface GridNode {
  readonly name: string
  /** The flags (and program, if not the CLI) it was started with, to start it again the same way. */
  readonly flags: readonly string[]
  readonly entry: string | undefined
  readonly process: ChildProcess
  readonly peerId: string
  readonly address: string
  readonly multiaddrs: string[]
  readonly dataDir: string
  readonly client: ConunClient
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>
}

export interface LocalGrid {
  /** The dev chain every node settles on, run by this process (so it outlives any node). */
  readonly chain: DevChain
  readonly requester: GridNode
  readonly providers: GridNode[]
  /**
   * Starts one more provider that joins through the requester. `entry` runs another program in
   * place of `conun node start` (given the same flags), e.g. a test's misbehaving provider.
   */
  addProvider(options?: { cores?: number, entry?: string, flags?: readonly string[] }): Promise<GridNode>
  /**
   * Starts a node that has stopped (or was killed) again on its data dir, its listen addresses
   * and its flags: the same identity, database and storage. Returns the new process.
   */
  restart(node: GridNode): Promise<GridNode>
  /** Stops every node (SIGTERM, then SIGKILL after a grace period) and removes their data dirs. */
  stop(): Promise<void>
}

export interface LocalGridOptions {
  readonly providers: number
  readonly coresPerProvider: number
  /** Extra `conun node start` flags for every provider (e.g. ["--price", "10"]). */
  readonly providerFlags?: readonly string[]
  /** The requester's config.json, e.g. { scheduler: { spotCheckSeed: 1 } } to replay adaptive replication. */
  readonly requesterConfig?: object
  /** Keep data dirs after stop (for inspection). */
  readonly keepData?: boolean
  /** Receives every line the nodes print on stderr, prefixed with the node's name. */
  readonly log?: (line: string) => void
  /**
   * A command every provider runs under, e.g. ["setsid"]: a session of its own, which Linux's
   * autogroup scheduling gives its own share of the CPU, as a machine of its own would have.
   */
  readonly providerWrap?: readonly string[]
}

/** Providers started at the same time. */
const STARTING_AT_ONCE = 4

/**
 * A whole grid on loopback: one requester (which is also the bootstrap node) and N providers, each
 * a separate `conun node start --devnet` OS process with its own data dir, keys and database.
 * This is what `npm start`, the multi-process tests and the benchmark run on.
 */
export async function startLocalGrid (options: LocalGridOptions): Promise<LocalGrid> {
  const root = await mkdtemp(join(tmpdir(), 'conun-grid-'))
  const nodes: GridNode[] = []
  const chain = await startDevChain().catch(async (error: unknown) => {
    // Nothing else was started yet: only the grid's folder is left to remove.
    await rm(root, { recursive: true, force: true })
    throw error
  })
  const chainFlags = ['--rpc', chain.info.rpcUrl, '--token', chain.info.token, '--escrow', chain.info.escrow]
  const stopAll = async () => {
    await Promise.all(nodes.map(stopNode))
    await chain.close()
    if (options.keepData !== true) await rm(root, { recursive: true, force: true })
  }
  const start = async (name: string, dataDir: string, flags: string[], entry?: string, wrap?: readonly string[]) => {
    const node = await startNodeProcess(name, dataDir, flags, { log: options.log, entry, wrap })
    nodes.push(node)
    await fundFromFaucet(chain.info, node.address as Address)
    return node
  }
  try {
    if (options.requesterConfig !== undefined) {
      await mkdir(join(root, 'requester'))
      await writeFile(join(root, 'requester', 'config.json'), JSON.stringify(options.requesterConfig))
    }
    const requester = await start('requester', join(root, 'requester'), chainFlags)
    const bootstrap = requester.multiaddrs.filter(addr => !addr.includes('/ws'))
    let count = 0
    const addProvider = async ({ cores = options.coresPerProvider, entry, flags: extra = [] }: { cores?: number, entry?: string, flags?: readonly string[] } = {}) => {
      const name = `provider-${++count}`
      const flags = [...chainFlags, '--provide', '--cores', String(cores), ...bootstrap.flatMap(addr => ['--bootstrap', addr]), ...(options.providerFlags ?? []), ...extra]
      return start(name, join(root, name), flags, entry, options.providerWrap)
    }
    // A few at a time: a node's start is mostly CPU (loading its modules), and twenty starting at once
    // on a small machine each crawl, past the start limit; in turns each is up in a second or two.
    const starting = new Semaphore(STARTING_AT_ONCE)
    const providers = await Promise.all(Array.from({ length: options.providers }, async () => {
      await starting.acquire()
      try {
        return await addProvider()
      } finally {
        starting.release()
      }
    }))
    const restart = async (node: GridNode) => {
      if (node.process.exitCode === null && node.process.signalCode === null) throw new Error(`${node.name} is still running`)
      const listen = node.multiaddrs.map(addr => addr.replace(/\/p2p\/[^/]+$/, '')).flatMap(addr => ['--listen', addr])
      const again = await startNodeProcess(node.name, node.dataDir, [...node.flags.filter((_, i, all) => all[i] !== '--listen' && all[i - 1] !== '--listen'), ...listen], { log: options.log, entry: node.entry, wrap: node.name.startsWith('provider-') ? options.providerWrap : undefined })
      nodes.push(again)
      return again
    }
    return { chain, requester, providers, addProvider, restart, stop: stopAll }
  } catch (error) {
    await stopAll()
    throw error
  }
}

export interface NodeProcessOptions {
  /** Receives every line the node prints on stderr, prefixed with its name. */
  readonly log?: (line: string) => void
  /** Another program to run in place of `conun node start`, given the same flags. */
  readonly entry?: string
  /** A command the node runs under, e.g. `ip netns exec <ns>` to put it in a network namespace. */
  readonly wrap?: readonly string[]
  /** Start with --devnet (the public passphrase; default). False: the flags must give a passphrase. */
  readonly devnet?: boolean
}

/** Starts `conun node start --devnet --json` as its own OS process and waits for its ready line. */
export async function startNodeProcess (name: string, dataDir: string, flags: string[], options: NodeProcessOptions = {}): Promise<GridNode> {
  const { log, entry, wrap = [], devnet = true } = options
  const program = entry === undefined ? [CLI, 'node', 'start'] : [entry]
  const argv = [...wrap, process.execPath, '--disable-warning=ExperimentalWarning', ...program, ...(devnet ? ['--devnet'] : []), '--json', '--data-dir', dataDir, ...flags]
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const stderr: string[] = []
  createInterface({ input: child.stderr! }).on('line', line => {
    stderr.push(line)
    log?.(`[${name}] ${line}`)
  })
  const lines = createInterface({ input: child.stdout! })
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A node that never came up is not left running behind the caller's back.
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start within 60 s:\n${stderr.join('\n')}`))
    }, 60_000)
    lines.on('line', line => {
      try {
        const message = JSON.parse(line) as Record<string, unknown>
        if (message.event === 'ready') {
          clearTimeout(timer)
          resolve(message)
        }
      } catch { /* not a JSON line */ }
    })
    void exited.then(code => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${code} before it was ready:\n${stderr.join('\n')}`))
    })
  })
  return {
    name,
    flags,
    entry,
    process: child,
    peerId: String(ready.peerId),
    address: String(ready.address),
    multiaddrs: ready.multiaddrs as string[],
    dataDir,
    client: await ConunClient.fromDataDir(dataDir),
    exited,
  }
}

/** Stops a node: SIGTERM, then SIGKILL after a grace period. */
export async function stopNode (node: GridNode): Promise<void> {
  if (node.process.exitCode !== null || node.process.signalCode !== null) return
  node.process.kill('SIGTERM')
  const timer = setTimeout(() => node.process.kill('SIGKILL'), 10_000)
  await node.exited
  clearTimeout(timer)
}
