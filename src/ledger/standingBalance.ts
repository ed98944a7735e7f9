import { jobEscrowAbi } from './abi.ts'
import { LedgerError } from './errors.ts'
import { sendContract } from './ledgerClient.ts'
import { formatCon } from './units.ts'
import { signPermit } from './permit.ts'
import type { LedgerClient, SentTransaction } from './ledgerClient.ts'
import type { Address } from 'viem'

/** How long a deposit's permit stays valid: it is spent by the very next transaction. */
const PERMIT_LIFETIME_S = 3600n

/**
 * Adds `amount` CON to the requester's standing balance in the escrow in one transaction (a
 * permit, then depositWithPermit). Reservations and settlements on the requester's payment lines
 * draw on it; what a line's release takes back returns to it.
 */
export async function depositToEscrow (client: LedgerClient, amount: bigint): Promise<SentTransaction> {
  const deadline = (await client.public.getBlock()).timestamp + PERMIT_LIFETIME_S
  const { r, s, v } = await signPermit(client, amount, deadline)
  return sendContract(client, { address: client.info.escrow, abi: jobEscrowAbi, functionName: 'depositWithPermit', args: [amount, deadline, v, r, s] })
}

/**
 * Sends `amount` of the standing balance back to the requester's wallet. More than is free (what
 * no line holds) is refused before signing, and by the escrow itself.
 */
export async function withdrawFromEscrow (client: LedgerClient, amount: bigint): Promise<SentTransaction> {
  if (amount <= 0n) throw new LedgerError('the amount must be more than 0')
  const free = await readEscrowBalance(client, client.account.address)
  if (free < amount) throw new LedgerError(`only ${formatCon(free)} is free in the escrow (payment lines hold the rest), ${formatCon(amount)} asked`, 'InsufficientBalance')
  return sendContract(client, { address: client.info.escrow, abi: jobEscrowAbi, functionName: 'withdraw', args: [amount] })
}

/** What of `requester`'s standing balance no payment line holds (what it may withdraw or reserve). */
export async function readEscrowBalance (client: Pick<LedgerClient, 'info' | 'public'>, requester: Address): Promise<bigint> {
  return client.public.readContract({ address: client.info.escrow, abi: jobEscrowAbi, functionName: 'balances', args: [requester] })
}
