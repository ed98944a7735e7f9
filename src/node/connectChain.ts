import { join } from 'node:path'
import { createPublicClient, parseGwei } from 'viem'
import { chainClients, createLedgerClient, DEVNET_CHAIN_ID, findDeploymentBlock, fundFromFaucet, rpcTransport, startDevChain, TransactionJournal } from '../ledger/index.ts'
import { chainFileOf, writeChainFile } from './chainFile.ts'
import { ConfigError } from './config.ts'
import type { NodeConfig } from './config.ts'
import type { NodeKey } from '../identity/index.ts'
import type { ChainInfo, DevChain, LedgerClient } from '../ledger/index.ts'
import type { DatabaseSync } from 'node:sqlite'
import type { Address } from 'viem'

export interface ConnectedChain {
  readonly client: LedgerClient
  /** The embedded dev chain, when the node runs it. */
  readonly devChain: DevChain | undefined
}

/** What the config says about waiting for blocks and paying for gas. */
function ledgerOptions (config: NodeConfig): { confirmations: number, maxFeePerGas: bigint | undefined } {
  const { confirmations, maxFeeGwei } = config.chain
  return { confirmations, maxFeePerGas: maxFeeGwei === null ? undefined : parseGwei(maxFeeGwei.toFixed(9)) }
}

/** How conun's embedded dev chain (Hardhat's EDR) names itself in web3_clientVersion. */
const EMBEDDED_CLIENT = /^HardhatNetwork\/.*\/edr\//

/**
 * Connects the node to its chain: the JSON-RPC endpoint of the config (checked to be the chain id
 * configured and to hold the escrow), or, by default, an embedded dev chain it starts and deploys
 * itself, funding its own account from the dev faucet so that `npm start` needs no setup. On a
 * chain that outlives the node, its transactions are journalled in `db` until mined.
 */
export async function connectChain (config: NodeConfig, key: NodeKey, db: DatabaseSync): Promise<ConnectedChain> {
  let devChain: DevChain | undefined
  let info: ChainInfo
  if (config.chain.rpcUrl === null) {
    if (config.chainId !== DEVNET_CHAIN_ID) throw new ConfigError(`chain id ${config.chainId} needs an RPC endpoint (--rpc); only the embedded dev chain (${DEVNET_CHAIN_ID}) starts by itself`)
    devChain = await startDevChain({ port: config.chain.devChainPort })
    info = devChain.info
  } else {
    info = { rpcUrl: config.chain.rpcUrl, chainId: config.chainId, token: config.chain.token as Address, escrow: config.chain.escrow as Address, deploymentBlock: BigInt(config.chain.deploymentBlock ?? 0) }
  }
  // The checks read through a plain reader; the node's client is made once its deployment block is known.
  const reader = chainClients(info.rpcUrl, info.chainId, key.secret).public
  try {
    const chainId = await reader.getChainId().catch((error: Error) => {
      throw new ConfigError(`cannot reach the chain at ${info.rpcUrl}: ${error.message}`)
    })
    if (chainId !== config.chainId) throw new ConfigError(`the RPC endpoint ${info.rpcUrl} serves chain ${chainId}, but this node is configured for chain ${config.chainId}`)
    if (await reader.getCode({ address: info.escrow }) === undefined) throw new ConfigError(`there is no contract at escrow address ${info.escrow} on chain ${chainId}`)
    if (devChain === undefined && config.chain.deploymentBlock === null) {
      const deploymentBlock = await findDeploymentBlock(reader, info.escrow)
      if (deploymentBlock === undefined) throw new ConfigError(`cannot tell from ${info.rpcUrl} when the escrow ${info.escrow} was deployed (the endpoint keeps no old state): give chain.deploymentBlock in config.json, or join with --chain chain.json`)
      info = { ...info, deploymentBlock }
    }
    if (devChain !== undefined) await fundFromFaucet(info, key.address)
    await writeChainFile(join(config.dataDir, 'chain.json'), chainFileOf(info, devChain !== undefined))
    // The embedded chain lives in memory and starts afresh each time: nothing sent to it survives the node.
    const journal = devChain === undefined ? new TransactionJournal(db, info.chainId) : undefined
    return { client: createLedgerClient(info, key.secret, { ...ledgerOptions(config), journal }), devChain }
  } catch (error) {
    await devChain?.close()
    throw error
  }
}

/**
 * --devnet means a public passphrase and a light keystore: only for conun's own dev chain, which
 * the node or a test harness runs. Another chain with the dev chain's id (anvil's, a fork of a
 * real one) is refused, before any keystore is opened or written.
 */
export async function assertDevnetEndpoint (config: { readonly devnet: boolean, readonly chain: { readonly rpcUrl: string | null } }): Promise<void> {
  if (!config.devnet || config.chain.rpcUrl === null) return
  const version = await createPublicClient({ transport: rpcTransport(config.chain.rpcUrl, { retryCount: 1, timeoutMs: 10_000 }) }).request({ method: 'web3_clientVersion' }).catch(() => '')
  if (!EMBEDDED_CLIENT.test(String(version))) {
    throw new ConfigError(`--devnet (or "devnet": true in config.json) is only for conun's embedded dev chain, and ${config.chain.rpcUrl} is ${String(version) || 'not one'}: ` +
      'drop it and give your own passphrase with --passphrase-file or CONUN_PASSPHRASE (or type it when asked).')
  }
}
