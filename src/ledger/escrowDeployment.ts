import type { ChainReader } from './ledgerClient.ts'
import type { Hex } from 'viem'

/**
 * Which deployment of the escrow a client talks to: the hash of the block it was deployed in. The
 * embedded dev chain starts afresh at every start of its node and deploys the escrow at the same
 * address again, so what a node keeps about payments (what its lines owe, the receipts it holds)
 * is kept per deployment.
 */
export async function escrowDeployment (client: ChainReader): Promise<Hex> {
  return (await client.public.getBlock({ blockNumber: client.info.deploymentBlock })).hash
}
