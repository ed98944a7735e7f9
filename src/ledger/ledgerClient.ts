import { BaseError, ContractFunctionRevertedError, createPublicClient, createWalletClient, defineChain, encodeFunctionData } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { LedgerError } from './errors.ts'
import { rpcTransport } from './rpcTransport.ts'
import { sendWithReplacement } from './sendWithReplacement.ts'
import type { TransactionJournal } from './transactionJournal.ts'
import type { Abi, Account, Address, ContractFunctionArgs, ContractFunctionName, Hex, PublicClient, Transport, WalletClient, Chain } from 'viem'

/** Where the chain is and which contracts conun uses on it. */
export interface ChainInfo {
  readonly rpcUrl: string
  readonly chainId: number
  readonly token: Address
  readonly escrow: Address
  /** The block the escrow was deployed in: logs are never read from before it. */
  readonly deploymentBlock: bigint
}

/** A node's view of the chain: reads through `public`, transactions signed by the node key. */
export interface LedgerClient {
  readonly info: ChainInfo
  readonly account: Account & { address: Address }
  readonly public: PublicClient<Transport, Chain>
  readonly wallet: WalletClient<Transport, Chain, Account>
  /** Blocks on top before a transaction counts as done and a state as settled (0: as soon as mined). */
  readonly confirmations: number
  /** The most a transaction may pay per gas (EIP-1559 maxFeePerGas); undefined: what the chain asks. */
  readonly maxFeePerGas: bigint | undefined
  /** Where transactions are kept from signing until mined, so nonces survive a restart (absent: the chain's pending count alone). */
  readonly journal?: TransactionJournal
}

/** What reading conun's contracts needs: no account, so a browser tab reading through its node has one too. */
export type ChainReader = Pick<LedgerClient, 'info' | 'public' | 'confirmations'>

export function createLedgerClient (info: ChainInfo, secret: Uint8Array, options: { confirmations?: number, maxFeePerGas?: bigint, journal?: TransactionJournal } = {}): LedgerClient {
  return { info, ...chainClients(info.rpcUrl, info.chainId, secret), confirmations: options.confirmations ?? 0, maxFeePerGas: options.maxFeePerGas, journal: options.journal }
}

/** A reader and a wallet signing with `secret`, on the chain behind an RPC endpoint (before any contract is known). */
export function chainClients (rpcUrl: string, chainId: number, secret: Uint8Array): Pick<LedgerClient, 'account' | 'public' | 'wallet'> {
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const transport = rpcTransport(rpcUrl, { retryCount: 2, timeoutMs: 30_000 })
  // Nonces come from the chain ("pending"); inTurn() keeps one account's sends in order.
  const account = privateKeyToAccount(`0x${Buffer.from(secret).toString('hex')}` as Hex)
  return {
    account,
    public: createPublicClient({ chain, transport, pollingInterval: 250 }),
    wallet: createWalletClient({ chain, transport, account }),
  }
}

/**
 * The block whose state counts: `confirmations` below the head, so that what a reorg can still
 * take back (an escrow just opened, a settlement just mined) is not yet relied on.
 */
export async function confirmedBlock (client: ChainReader): Promise<{ blockNumber: bigint } | { blockTag: 'latest' }> {
  if (client.confirmations === 0) return { blockTag: 'latest' }
  const head = await client.public.getBlockNumber({ cacheTime: 0 })
  return { blockNumber: head > BigInt(client.confirmations) ? head - BigInt(client.confirmations) : 0n }
}

export interface SentTransaction {
  readonly hash: Hex
  readonly gasUsed: bigint
  /** The block it was mined in. */
  readonly blockNumber: bigint
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
    await client.public.simulateContract({ ...call, account: client.account } as never)
    const transaction = { to: call.address, data: encodeFunctionData(call as never) }
    const gas = await client.public.estimateGas({ ...transaction, account: client.account })
    // Signed here and sent by sendWithReplacement, which journals each version before it leaves.
    const mined = await sendWithReplacement(client, (nonce, fees) => client.wallet.signTransaction({ ...transaction, gas, nonce, ...fees, type: 'eip1559' } as never))
    const receipt = client.confirmations === 0 ? mined : await client.public.waitForTransactionReceipt({ hash: mined.transactionHash, confirmations: client.confirmations + 1, timeout: 120_000 + client.confirmations * 60_000 })
    if (receipt.status !== 'success') throw new LedgerError(`${call.functionName} reverted in transaction ${receipt.transactionHash}`)
    return { hash: receipt.transactionHash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber }
  } catch (error) {
    throw asLedgerError(error, call.functionName)
  }
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
