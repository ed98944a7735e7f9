import { BaseError, HttpRequestError, keccak256, parseTransaction, TimeoutError, TransactionReceiptNotFoundError } from 'viem'
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

/** Signs the transaction with this nonce and these fees; returns it serialized, ready to send. */
export type Sign = (nonce: number, fees: Fees) => Promise<Hex>

/**
 * Sends one transaction under EIP-1559 fees capped at the client's `maxFeePerGas`, and waits until
 * it is mined. A transaction left unmined for STUCK_AFTER_BLOCKS blocks (a fee spike) is replaced:
 * the same nonce and call, fees raised to what the chain asks now (at least 12.5 % more, never over
 * the cap), so it is never sent twice. At the cap it waits for the fees to fall. Every hash sent
 * for the nonce is watched: whichever is mined is the transaction. With the client's journal,
 * each version is recorded before it is sent, and nonces follow those still in flight from before
 * a restart (see resumeTransactions).
 */
export async function sendWithReplacement (client: LedgerClient, sign: Sign): Promise<TransactionReceipt> {
  const deadline = Date.now() + MINE_TIMEOUT_MS
  // Over the cap, a transaction would not even be taken into the pool: wait for the fees to fall.
  while (client.maxFeePerGas !== undefined && await baseFee(client) > client.maxFeePerGas) {
    if (Date.now() > deadline) throw new LedgerError(`the chain's base fee stayed over the cap of ${client.maxFeePerGas} wei per gas for ${MINE_TIMEOUT_MS / 60_000} minutes: raise --max-fee, or wait for fees to fall`, 'fee-over-cap')
    await new Promise(resolve => setTimeout(resolve, client.public.pollingInterval))
  }
  const fees = capped(client, await client.public.estimateFeesPerGas())
  // One account's nonces are taken one at a time: the next is free once the last one is sent.
  const { nonce, hash } = await inTurn(client, async () => {
    const pending = await client.public.getTransactionCount({ address: client.account.address, blockTag: 'pending' })
    // The pool may have forgotten a transaction journalled before a restart: its nonce stays its own.
    const nonce = Math.max(pending, client.journal?.nextNonce(client.account.address) ?? 0)
    return { nonce, hash: await send(client, nonce, await sign(nonce, fees)) }
  })
  return untilMined(client, { nonce, hashes: [hash], fees, sign, deadline })
}

/**
 * Sends again, as they were signed, the transactions a previous run of the node journalled and
 * did not see mined, lowest nonce first, and then watches them as if just sent (replacing one
 * stuck under a fee spike): their nonces are never given to other transactions, and none is
 * left as a gap. Resolves once they are sent; the watches go on in the background.
 */
export async function resumeTransactions (client: LedgerClient): Promise<void> {
  const journal = client.journal
  if (journal === undefined) return
  const account = client.account.address
  const mined = await client.public.getTransactionCount({ address: account, blockTag: 'latest' })
  for (const sent of journal.inFlight(account)) {
    if (sent.nonce < mined) {
      // One of its versions was mined while the node was down.
      journal.mined(account, sent.nonce)
      continue
    }
    // Still in the pool ("already known"), or refused: the watch below replaces it with higher fees.
    await client.public.sendRawTransaction({ serializedTransaction: sent.raw }).catch(() => undefined)
    const signed = parseTransaction(sent.raw)
    const fees = { maxFeePerGas: signed.maxFeePerGas ?? 0n, maxPriorityFeePerGas: signed.maxPriorityFeePerGas ?? 0n }
    const sign: Sign = (nonce, fees) => client.wallet.signTransaction({ to: signed.to, data: signed.data, value: signed.value, gas: signed.gas, nonce, ...fees, type: 'eip1559' } as never)
    void untilMined(client, { nonce: sent.nonce, hashes: sent.hashes, fees, sign, deadline: Date.now() + MINE_TIMEOUT_MS }).catch(() => { /* still journalled: the next start sends it again */ })
  }
}

/** Journals a signed transaction, then sends it; returns its hash. */
async function send (client: LedgerClient, nonce: number, raw: Hex): Promise<Hex> {
  const hash = keccak256(raw)
  // Recorded before it leaves: a node that dies from here on sends this very transaction again.
  client.journal?.signed(client.account.address, nonce, hash, raw)
  try {
    await client.public.sendRawTransaction({ serializedTransaction: raw })
  } catch (error) {
    // Refused by the endpoint: it never entered a pool, so its nonce is not taken. Unanswered
    // (the endpoint down, a timeout): it may have, so it stays journalled and is sent again.
    const unanswered = error instanceof BaseError && error.walk(cause => cause instanceof HttpRequestError || cause instanceof TimeoutError) !== null
    if (!unanswered) client.journal?.forget(hash)
    throw error
  }
  return hash
}

/** Waits until one of the nonce's transactions is mined, replacing it with higher fees while it is stuck. */
async function untilMined (client: LedgerClient, sending: { nonce: number, hashes: Hex[], fees: Fees, sign: Sign, deadline: number }): Promise<TransactionReceipt> {
  const { nonce, hashes, sign, deadline } = sending
  let { fees } = sending
  let sentAt = await client.public.getBlockNumber({ cacheTime: 0 })
  for (;;) {
    // The node stopped: what it sent is journalled, and its next start watches it again.
    if (client.journal?.isOpen === false) throw new LedgerError(`the node stopped while transaction ${hashes.at(-1)} (nonce ${nonce}) was in flight: it is sent again when the node starts`, 'node-stopped')
    for (const hash of hashes) {
      const receipt = await client.public.getTransactionReceipt({ hash }).catch((error: unknown) => {
        if (error instanceof TransactionReceiptNotFoundError) return undefined
        throw error
      })
      if (receipt !== undefined) {
        client.journal?.mined(client.account.address, nonce)
        return receipt
      }
    }
    if (Date.now() > deadline) throw new LedgerError(`transaction ${hashes.at(-1)} (nonce ${nonce}) was not mined within ${MINE_TIMEOUT_MS / 60_000} minutes: is the chain making blocks?`, 'not-mined')
    const head = await client.public.getBlockNumber({ cacheTime: 0 })
    if (head - sentAt >= STUCK_AFTER_BLOCKS) {
      const raised = capped(client, higher(await client.public.estimateFeesPerGas(), bump(fees)))
      // A replacement under the base fee would be refused: at the cap, wait for the fees to fall.
      if (raised.maxFeePerGas > fees.maxFeePerGas && raised.maxFeePerGas >= await baseFee(client)) {
        fees = raised
        hashes.push(await send(client, nonce, await sign(nonce, fees)))
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
