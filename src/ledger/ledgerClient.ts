import { BaseError, ContractFunctionRevertedError, createPublicClient, createWalletClient, defineChain, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Abi, Account, Address, ContractFunctionArgs, ContractFunctionName, Hex, PublicClient, Transport, WalletClient, Chain } from 'viem'

/** Where the chain is and which contracts conun uses on it. */
export interface ChainInfo {
  readonly rpcUrl: string
  readonly chainId: number
  readonly token: Address
  readonly escrow: Address
}

/** A node's view of the chain: reads through `public`, transactions signed by the node key. */
export interface LedgerClient {
  readonly info: ChainInfo
  readonly account: Account & { address: Address }
  readonly public: PublicClient<Transport, Chain>
  readonly wallet: WalletClient<Transport, Chain, Account>
}

/** A chain or contract call failed; `reason` is the contract's custom error when there is one. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError'
  readonly reason: string | undefined
  constructor (message: string, reason?: string) {
    super(message)
    this.reason = reason
  }
}

export function createLedgerClient (info: ChainInfo, secret: Uint8Array): LedgerClient {
  const chain = defineChain({
    id: info.chainId,
    name: `chain ${info.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [info.rpcUrl] } },
  })
  const transport = http(info.rpcUrl, { retryCount: 2, timeout: 30_000 })
  // Nonces come from the chain ("pending"); inTurn() keeps one account's sends in order.
  const account = privateKeyToAccount(`0x${Buffer.from(secret).toString('hex')}` as Hex)
  return {
    info,
    account,
    public: createPublicClient({ chain, transport, pollingInterval: 250 }),
    wallet: createWalletClient({ chain, transport, account }),
  }
}

export interface SentTransaction {
  readonly hash: Hex
  readonly gasUsed: bigint
}

/**
 * Simulates a contract call (so a revert surfaces as the contract's own error, before any gas is
 * spent), sends it, and waits for it to be mined.
 */
export async function sendContract<const TAbi extends Abi, TName extends ContractFunctionName<TAbi, 'nonpayable' | 'payable'>> (
  client: LedgerClient,
  call: { address: Address, abi: TAbi, functionName: TName, args: ContractFunctionArgs<TAbi, 'nonpayable' | 'payable', TName> },
): Promise<SentTransaction> {
  try {
    const { request } = await client.public.simulateContract({ ...call, account: client.account } as never)
    const hash = await inTurn(client, () => client.wallet.writeContract(request as never))
    const receipt = await client.public.waitForTransactionReceipt({ hash, timeout: 120_000 })
    if (receipt.status !== 'success') throw new LedgerError(`${call.functionName} reverted in transaction ${hash}`)
    return { hash, gasUsed: receipt.gasUsed }
  } catch (error) {
    throw asLedgerError(error, call.functionName)
  }
}

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

/** Turns viem's errors into one LedgerError with the contract's error name and arguments. */
function asLedgerError (error: unknown, action: string): LedgerError {
  if (error instanceof LedgerError) return error
  if (error instanceof BaseError) {
    const revert = error.walk(e => e instanceof ContractFunctionRevertedError)
    if (revert instanceof ContractFunctionRevertedError && revert.data !== undefined) {
      const args = (revert.data.args ?? []).map(arg => String(arg)).join(', ')
      return new LedgerError(`${action} refused by the contract: ${revert.data.errorName}(${args})`, revert.data.errorName)
    }
    return new LedgerError(`${action} failed: ${error.shortMessage}`)
  }
  return new LedgerError(`${action} failed: ${(error as Error).message}`)
}
