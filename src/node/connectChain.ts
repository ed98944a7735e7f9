import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLedgerClient, DEVNET_CHAIN_ID, fundFromFaucet, startDevChain } from '../ledger/index.ts'
import { ConfigError } from './config.ts'
import type { NodeConfig } from './config.ts'
import type { NodeKey } from '../identity/index.ts'
import type { ChainInfo, DevChain, LedgerClient } from '../ledger/index.ts'
import type { Address } from 'viem'

/** What a node writes to <dataDir>/chain.json, so the wallet CLI finds the chain without the node. */
export interface ChainFile extends ChainInfo {
  /** True when the node runs the chain itself (the embedded dev chain, gone when the node stops). */
  readonly embedded: boolean
}

export interface ConnectedChain {
  readonly client: LedgerClient
  /** The embedded dev chain, when the node runs it. */
  readonly devChain: DevChain | undefined
}

/**
 * Connects the node to its chain: the JSON-RPC endpoint of the config (checked to be the chain id
 * configured and to hold the escrow), or, by default, an embedded dev chain it starts and deploys
 * itself, funding its own account from the dev faucet so that `npm start` needs no setup.
 */
export async function connectChain (config: NodeConfig, key: NodeKey): Promise<ConnectedChain> {
  let devChain: DevChain | undefined
  let info: ChainInfo
  if (config.chain.rpcUrl === null) {
    if (config.chainId !== DEVNET_CHAIN_ID) throw new ConfigError(`chain id ${config.chainId} needs an RPC endpoint (--rpc); only the embedded dev chain (${DEVNET_CHAIN_ID}) starts by itself`)
    devChain = await startDevChain({ port: config.chain.devChainPort })
    info = devChain.info
  } else {
    info = { rpcUrl: config.chain.rpcUrl, chainId: config.chainId, token: config.chain.token as Address, escrow: config.chain.escrow as Address }
  }
  const client = createLedgerClient(info, key.secret)
  try {
    const chainId = await client.public.getChainId().catch((error: Error) => {
      throw new ConfigError(`cannot reach the chain at ${info.rpcUrl}: ${error.message}`)
    })
    if (chainId !== config.chainId) throw new ConfigError(`the RPC endpoint ${info.rpcUrl} serves chain ${chainId}, but this node is configured for chain ${config.chainId}`)
    if (await client.public.getCode({ address: info.escrow }) === undefined) throw new ConfigError(`there is no contract at escrow address ${info.escrow} on chain ${chainId}`)
    if (devChain !== undefined) await fundFromFaucet(info, key.address)
    const file: ChainFile = { ...info, embedded: devChain !== undefined }
    await writeFile(join(config.dataDir, 'chain.json'), JSON.stringify(file, null, 2) + '\n')
    return { client, devChain }
  } catch (error) {
    await devChain?.close()
    throw error
  }
}
