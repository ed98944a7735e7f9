import { isAddress, parseEther } from 'viem'
import { conunTokenAbi } from './abi.ts'
import { DEVNET_CHAIN_ID, DEVNET_FAUCET_KEY } from './devChain.ts'
import { inTurn } from './inTurn.ts'
import { LedgerError } from './errors.ts'
import { createLedgerClient, sendContract } from './ledgerClient.ts'
import { formatCon } from './units.ts'
import type { ChainInfo, ChainReader, LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address } from 'viem'

export interface Balances {
  readonly con: bigint
  /** Native currency, for gas. */
  readonly eth: bigint
}

export async function readBalances (client: LedgerClient, address: Address): Promise<Balances> {
  const [con, eth] = await Promise.all([
    readConBalance(client, address),
    client.public.getBalance({ address }),
  ])
  return { con, eth }
}

/** An address's CON, with a reader only (a tab shows its payout address's balance this way). */
export async function readConBalance (client: ChainReader, address: Address): Promise<bigint> {
  return client.public.readContract({ address: client.info.token, abi: conunTokenAbi, functionName: 'balanceOf', args: [address] })
}

/** Sends CON, checking the address and the balance first so mistakes fail before signing. */
export async function transferCon (client: LedgerClient, to: string, amount: bigint): Promise<SentTransaction> {
  if (!isAddress(to, { strict: false })) throw new LedgerError(`"${to}" is not an Ethereum address (0x followed by 40 hex digits)`)
  if (amount <= 0n) throw new LedgerError('the amount must be more than 0')
  const { con } = await readBalances(client, client.account.address)
  if (con < amount) throw new LedgerError(`insufficient funds: ${formatCon(con)} available, ${formatCon(amount)} asked`)
  return sendContract(client, { address: client.info.token, abi: conunTokenAbi, functionName: 'transfer', args: [to, amount] })
}

/** What the dev-chain faucet gives: enough CON to run jobs and enough ETH for gas. */
const FAUCET_CON = parseEther('10000')
const FAUCET_ETH = parseEther('10')

/** On the embedded dev chain only: the faucet account sends `address` CON and gas money. */
export async function fundFromFaucet (chain: ChainInfo, address: Address): Promise<void> {
  if (chain.chainId !== DEVNET_CHAIN_ID) throw new LedgerError(`the faucet exists only on the local dev chain (chain id ${DEVNET_CHAIN_ID}); this is chain ${chain.chainId}`)
  const faucet = createLedgerClient(chain, Buffer.from(DEVNET_FAUCET_KEY.slice(2), 'hex'))
  if (await faucet.public.getCode({ address: chain.token }) === undefined) throw new LedgerError(`no token contract at ${chain.token}`)
  const hash = await inTurn(faucet, () => faucet.wallet.sendTransaction({ to: address, value: FAUCET_ETH }))
  await faucet.public.waitForTransactionReceipt({ hash })
  await sendContract(faucet, { address: chain.token, abi: conunTokenAbi, functionName: 'transfer', args: [address, FAUCET_CON] })
}

