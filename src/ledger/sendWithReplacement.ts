import { TransactionReceiptNotFoundError } from 'viem'
import { inTurn } from './inTurn.ts'
import { LedgerError } from './errors.ts'
import type { LedgerClient } from './ledgerClient.ts'
import type { Hex, TransactionReceipt } from 'viem'

/** Blocks a transaction may wait unmined before it is sent again with higher fees. */
const STUCK_AFTER_BLOCKS = 3n
/** A replacement pays at least this much more (nodes ask ≥ 10 %), in per mille. */
const BUMP_PER_MILLE = 1125n
/** How long one transaction may take to be mined, replacements included. */
const MINE_TIMEOUT_MS = 15 * 60_000

export interface Fees {
  readonly maxFeePerGas: bigint
  readonly maxPriorityFeePerGas: bigint
}

/** Signs and sends the transaction with this nonce and these fees; returns its hash. */
export type Send = (nonce: number, fees: Fees) => Promise<Hex>

/**
 * Sends one transaction under EIP-1559 fees capped at the client's `maxFeePerGas`, and waits until
 * it is mined. A transaction left unmined for STUCK_AFTER_BLOCKS blocks (a fee spike) is replaced:
 * the same nonce and call, fees raised to what the chain asks now (at least 12.5 % more, never over
 * the cap), so it is never sent twice. At the cap it waits for the fees to fall. Every hash sent
 * for the nonce is watched: whichever is mined is the transaction.
 */
export async function sendWithReplacement (client: LedgerClient, send: Send): Promise<TransactionReceipt> {
  const deadline = Date.now() + MINE_TIMEOUT_MS
  // Over the cap, a transaction would not even be taken into the pool: wait for the fees to fall.
  while (client.maxFeePerGas !== undefined && await baseFee(client) > client.maxFeePerGas) {
    if (Date.now() > deadline) throw new LedgerError(`the chain's base fee stayed over the cap of ${client.maxFeePerGas} wei per gas for ${MINE_TIMEOUT_MS / 60_000} minutes: raise --max-fee, or wait for fees to fall`, 'fee-over-cap')
    await new Promise(resolve => setTimeout(resolve, client.public.pollingInterval))
  }
  let fees = capped(client, await client.public.estimateFeesPerGas())
  // One account's nonces are taken one at a time: the next is free once the last one is sent.
  const { nonce, hash } = await inTurn(client, async () => {
    const nonce = await client.public.getTransactionCount({ address: client.account.address, blockTag: 'pending' })
    return { nonce, hash: await send(nonce, fees) }
  })
  const hashes = [hash]
  let sentAt = await client.public.getBlockNumber({ cacheTime: 0 })
  for (;;) {
    for (const hash of hashes) {
      const receipt = await client.public.getTransactionReceipt({ hash }).catch((error: unknown) => {
        if (error instanceof TransactionReceiptNotFoundError) return undefined
        throw error
      })
      if (receipt !== undefined) return receipt
    }
    if (Date.now() > deadline) throw new LedgerError(`transaction ${hashes.at(-1)} (nonce ${nonce}) was not mined within ${MINE_TIMEOUT_MS / 60_000} minutes: is the chain making blocks?`, 'not-mined')
    const head = await client.public.getBlockNumber({ cacheTime: 0 })
    if (head - sentAt >= STUCK_AFTER_BLOCKS) {
      const raised = capped(client, higher(await client.public.estimateFeesPerGas(), bump(fees)))
      // A replacement under the base fee would be refused: at the cap, wait for the fees to fall.
      if (raised.maxFeePerGas > fees.maxFeePerGas && raised.maxFeePerGas >= await baseFee(client)) {
        fees = raised
        hashes.push(await send(nonce, fees))
      }
      sentAt = head
    }
    await new Promise(resolve => setTimeout(resolve, client.public.pollingInterval))
  }
}

async function baseFee (client: LedgerClient): Promise<bigint> {
  return (await client.public.getBlock({ blockTag: 'latest' })).baseFeePerGas ?? 0n
}

function bump (fees: Fees): Fees {
  return { maxFeePerGas: fees.maxFeePerGas * BUMP_PER_MILLE / 1000n + 1n, maxPriorityFeePerGas: fees.maxPriorityFeePerGas * BUMP_PER_MILLE / 1000n + 1n }
}

function higher (a: Fees, b: Fees): Fees {
  return {
    maxFeePerGas: a.maxFeePerGas > b.maxFeePerGas ? a.maxFeePerGas : b.maxFeePerGas,
    maxPriorityFeePerGas: a.maxPriorityFeePerGas > b.maxPriorityFeePerGas ? a.maxPriorityFeePerGas : b.maxPriorityFeePerGas,
  }
}

/** Fees no higher than the cap the node was given (none: the chain's ask). */
function capped (client: LedgerClient, fees: Fees): Fees {
  const cap = client.maxFeePerGas
  if (cap === undefined || fees.maxFeePerGas <= cap) return fees
  return { maxFeePerGas: cap, maxPriorityFeePerGas: fees.maxPriorityFeePerGas < cap ? fees.maxPriorityFeePerGas : cap }
}
