import type { LedgerClient } from './ledgerClient.ts'

/**
 * Sends one account's transactions one after another: a dev chain that mines each transaction at
 * once refuses a nonce that arrives before the one below it, which concurrent sends can cause.
 */
const queues = new Map<string, Promise<unknown>>()
export function inTurn<T> (client: LedgerClient, send: () => Promise<T>): Promise<T> {
  const key = `${client.info.rpcUrl} ${client.account.address}`
  const turn = (queues.get(key) ?? Promise.resolve()).then(send, send)
  const settled = turn.catch(() => undefined)
  queues.set(key, settled)
  void settled.then(() => { if (queues.get(key) === settled) queues.delete(key) })
  return turn
}
