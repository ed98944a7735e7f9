import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPublicClient, createWalletClient, http, parseEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { hardhat } from 'viem/chains'
import { deployContracts } from './deployContracts.ts'
import type { ChainInfo } from './ledgerClient.ts'
import type { Address, Hex } from 'viem'

/**
 * The embedded default chain: Hardhat's EDR, an in-process Ethereum dev chain, served over
 * JSON-RPC on loopback, with CON and the escrow deployed by a faucet account. Its state lives in
 * memory: a restarted dev chain starts from scratch (the same addresses, fresh balances).
 */

/** Hardhat's first well-known dev account: public knowledge, so only ever a dev-chain faucet. */
export const DEVNET_FAUCET_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
export const DEVNET_CHAIN_ID = 31337
/** All of CON on a dev chain, held by the faucet: a billion tokens. */
export const DEVNET_SUPPLY = parseEther('1000000000')

export interface DevChain {
  readonly info: ChainInfo
  readonly faucet: Address
  close(): Promise<void>
}

export async function startDevChain (options: { host?: string, port?: number } = {}): Promise<DevChain> {
  const { createHardhatRuntimeEnvironment } = await import('hardhat/hre')
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
  const hre = await createHardhatRuntimeEnvironment({
    networks: { default: { type: 'edr-simulated', chainId: DEVNET_CHAIN_ID, mining: { auto: true } } },
  }, {}, root)
  const server = await hre.network.createServer('default', options.host ?? '127.0.0.1', options.port ?? 0)
  const { address, port } = await server.listen()
  const rpcUrl = `http://${address}:${port}`
  try {
    const account = privateKeyToAccount(DEVNET_FAUCET_KEY)
    const chain = { ...hardhat, rpcUrls: { default: { http: [rpcUrl] } } }
    const wallet = createWalletClient({ chain, transport: http(rpcUrl), account })
    const reader = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 50 })
    const { token, escrow, deploymentBlock } = await deployContracts({ public: reader, wallet }, { supplyWei: DEVNET_SUPPLY, confirmations: 0 })
    return {
      info: { rpcUrl, chainId: DEVNET_CHAIN_ID, token, escrow, deploymentBlock },
      faucet: account.address,
      close: async () => { await server.close() },
    }
  } catch (error) {
    await server.close()
    throw error
  }
}
