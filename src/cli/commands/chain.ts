import { access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { formatEther } from 'viem'
import { loadOrCreateNodeKey } from '../../identity/index.ts'
import { chainClients, conunTokenAbi, deployContracts, formatCon, LedgerError } from '../../ledger/index.ts'
import { chainFileOf, defaultDataDir, readChainFile, writeChainFile } from '../../node/index.ts'
import { resolvePassphrase } from '../passphrase.ts'
import { conFlag, intFlag, parseFlags, UsageError } from '../usage.ts'
import type { Command } from '../usage.ts'

const deployHelp = `Usage: conun chain deploy --rpc URL [options]

Deploys conun's contracts on a chain from the node key (it pays the gas): the JobEscrow, and the
CON token (ConunToken, its whole supply to the node key) unless --token names an existing ERC-20
with permit. Waits for the confirmations, then writes chain.json: the chain id, the addresses and
the escrow's deployment block. Others join the grid with "conun node start --chain chain.json".

Options:
  --rpc URL               the chain's JSON-RPC endpoint (required)
  --token ADDRESS         pay in this ERC-20 (EIP-2612 permit, 18 decimals) instead of a new CON
  --supply CON            a new CON token's supply, minted to the node key (default: 1000000000)
  --confirmations N       blocks on top of each deployment before it counts (default: 2)
  --out FILE              where to write chain.json (default: ./chain.json)
  --data-dir DIR          the node key's data directory (default: $CONUN_DATA_DIR or ~/.conun);
                          a key is made there when there is none
  --passphrase-file FILE  the keystore passphrase (otherwise $CONUN_PASSPHRASE, or asked)
  --json                  print the deployment as JSON
  -h, --help              show this help`

export const chainDeployCommand: Command = {
  name: 'chain deploy',
  summary: 'deploy the contracts on a chain, write chain.json',
  help: deployHelp,
  async run (argv) {
    const { values } = parseFlags(argv, {
      rpc: { type: 'string' },
      token: { type: 'string' },
      supply: { type: 'string' },
      confirmations: { type: 'string' },
      out: { type: 'string' },
      'data-dir': { type: 'string' },
      'passphrase-file': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }, deployHelp, { min: 0, max: 0 })
    if (values.rpc === undefined) throw new UsageError('--rpc is required', deployHelp)
    if (!/^https?:\/\/./.test(values.rpc)) throw new UsageError(`--rpc must be an http(s) URL, got "${values.rpc}"`, deployHelp)
    if (values.token !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(values.token)) throw new UsageError(`--token must be a contract address (0x and 40 hex digits), got "${values.token}"`, deployHelp)
    const supplyWei = conFlag(values.supply ?? '1000000000', 'supply', deployHelp)
    const confirmations = intFlag(values.confirmations, 'confirmations', deployHelp, 0, 256) ?? 2
    const out = resolve(values.out ?? 'chain.json')
    const rpcUrl = values.rpc
    const log = values.json === true ? () => {} : (line: string) => console.log(line)

    const probe = chainClients(rpcUrl, 1, new Uint8Array(32).fill(1))
    const chainId = await probe.public.getChainId().catch((error: Error) => {
      throw new LedgerError(`cannot reach the chain at ${rpcUrl}: ${error.message}`)
    })
    const { passphrase } = await resolvePassphrase({ devnet: false, passphraseFile: values['passphrase-file'] })
    const { key, created } = await loadOrCreateNodeKey(join(values['data-dir'] ?? defaultDataDir(), 'node.key.json'), passphrase)
    const clients = chainClients(rpcUrl, chainId, key.secret)
    const eth = await clients.public.getBalance({ address: key.address })
    if (eth === 0n) throw new LedgerError(`${created ? 'a new node key was made: ' : ''}the node account ${key.address} has no ETH on chain ${chainId} to pay for the deployment; send it some and run this again`)
    log(`deploying on chain ${chainId} from ${key.address} (${formatEther(eth)} ETH), ${confirmations} confirmation${confirmations === 1 ? '' : 's'}`)

    const deployment = await deployContracts(clients, {
      token: values.token as `0x${string}` | undefined,
      supplyWei,
      confirmations,
      onStep: step => log(step.address === undefined ? `  ${step.contract}: sent ${step.hash}` : `  ${step.contract}: ${step.address} (${step.gasUsed} gas)`),
    })
    const file = chainFileOf({ rpcUrl, chainId, token: deployment.token, escrow: deployment.escrow, deploymentBlock: deployment.deploymentBlock }, false)
    await writeChainFile(out, file)
    if (values.json === true) {
      console.log(JSON.stringify({ ...file, file: out, deployer: key.address, tokenDeployed: deployment.tokenDeployed, gasUsed: String(deployment.gasUsed) }))
    } else {
      log(`wrote ${out}: escrow from block ${file.deploymentBlock}, ${deployment.gasUsed} gas in all`)
      if (deployment.tokenDeployed) log(`${key.address} holds all ${formatCon(supplyWei)}: "conun wallet transfer" hands it out`)
      log(`join with: conun node start --chain ${out}`)
    }
    return 0
  },
}

const showHelp = `Usage: conun chain show [FILE_OR_URL] [options]

Prints a chain.json (default: ./chain.json, else the node's DIR/chain.json) and, when its RPC
endpoint answers, the chain's head, the token and whether the escrow is there.

Options:
  --data-dir DIR    the node's data directory (default: $CONUN_DATA_DIR or ~/.conun)
  --json            print JSON
  -h, --help        show this help`

export const chainShowCommand: Command = {
  name: 'chain show',
  summary: 'print a chain.json and check it against its chain',
  help: showHelp,
  async run (argv) {
    const { values, positionals } = parseFlags(argv, { 'data-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, showHelp, { min: 0, max: 1 })
    const source = positionals[0] ?? (await access('chain.json').then(() => 'chain.json', () => join(values['data-dir'] ?? defaultDataDir(), 'chain.json')))
    const file = await readChainFile(source)
    const live = await readLive(file)
    if (values.json === true) {
      console.log(JSON.stringify({ ...file, live }))
      return 0
    }
    console.log([
      `${source}`,
      `  chain id          ${file.chainId}${file.embedded ? ' (a node\'s embedded dev chain)' : ''}`,
      `  RPC               ${file.rpcUrl}`,
      `  token             ${file.token}`,
      `  escrow            ${file.escrow}, deployed in block ${file.deploymentBlock}`,
      'error' in live
        ? `  chain             unreachable: ${live.error}`
        : `  chain             head ${live.head}; token ${live.symbol} (${live.decimals} decimals, supply ${formatEther(BigInt(live.supplyWei))}); escrow ${live.escrowDeployed ? 'deployed' : 'MISSING'}`,
    ].join('\n'))
    return 0
  },
}

type Live = { head: string, symbol: string, decimals: number, supplyWei: string, escrowDeployed: boolean } | { error: string }

async function readLive (file: Awaited<ReturnType<typeof readChainFile>>): Promise<Live> {
  const { public: reader } = chainClients(file.rpcUrl, file.chainId, new Uint8Array(32).fill(1))
  try {
    const chainId = await reader.getChainId()
    if (chainId !== file.chainId) return { error: `${file.rpcUrl} serves chain ${chainId}, not ${file.chainId}` }
    const read = <N extends 'symbol' | 'decimals' | 'totalSupply'>(functionName: N) => reader.readContract({ address: file.token, abi: conunTokenAbi, functionName })
    const [head, symbol, decimals, supply, code] = await Promise.all([reader.getBlockNumber(), read('symbol'), read('decimals'), read('totalSupply'), reader.getCode({ address: file.escrow })])
    return { head: String(head), symbol: String(symbol), decimals: Number(decimals), supplyWei: String(supply), escrowDeployed: code !== undefined }
  } catch (error) {
    return { error: (error as Error).message.split('\n')[0]! }
  }
}

export const chainCommands = [chainDeployCommand, chainShowCommand]
