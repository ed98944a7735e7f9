/**
 * A tab's reader of the chain: viem over the node's read-only JSON-RPC window (POST
 * /v1/provide/chain, on the provide link's token). The tab holds no RPC URL and no wallet of its own.
 */
import { createPublicClient, defineChain, http } from 'viem'
import type { ChainReader } from '../../ledger/index.ts'
import type { ProvideSummary } from '../../sdk/index.ts'

export function tabChainReader (node: ProvideSummary, provideToken: string): ChainReader {
  const rpcUrl = new URL('/v1/provide/chain', location.href).href
  const chain = defineChain({
    id: node.chainId,
    name: `chain ${node.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const transport = http(rpcUrl, { retryCount: 2, timeout: 30_000, fetchOptions: { headers: { authorization: `Bearer ${provideToken}` } } })
  return {
    info: { rpcUrl, chainId: node.chainId, token: node.chain.token, escrow: node.chain.escrow, deploymentBlock: BigInt(node.chain.deploymentBlock) },
    public: createPublicClient({ chain, transport, pollingInterval: 1_000 }),
    confirmations: node.chain.confirmations,
  }
}
