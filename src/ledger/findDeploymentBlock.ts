import type { Address, PublicClient } from 'viem'

/**
 * The block a contract was deployed in, for a node given only its address: a binary search on
 * eth_getCode over past blocks (about 25 calls on a chain of millions of blocks). Undefined when
 * the endpoint keeps no state that old (a pruned node) or there is no code at the address.
 */
export async function findDeploymentBlock (reader: PublicClient, address: Address): Promise<bigint | undefined> {
  const hasCode = async (blockNumber: bigint) => (await reader.getCode({ address, blockNumber })) !== undefined
  let high = await reader.getBlockNumber()
  try {
    if (!await hasCode(high)) return undefined
    let low = 0n
    // Invariant: no code at low - 1 (or low is 0), code at high.
    while (low < high) {
      const middle = (low + high) / 2n
      if (await hasCode(middle)) high = middle
      else low = middle + 1n
    }
    return high
  } catch {
    return undefined
  }
}
