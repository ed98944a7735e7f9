/**
 * Where a tab's earnings go: an Ethereum address its user pastes (their own wallet), or else the
 * session key's own address, which is lost with the tab (the key lives in sessionStorage).
 */
import { getAddress, isAddress } from 'viem'
import type { Address } from 'viem'

const PAYOUT_KEY = 'conun.payoutAddress'

export class PayoutAddressError extends Error {
  override readonly name = 'PayoutAddressError'
}

/**
 * The address as the escrow will pay it (checksummed), or a PayoutAddressError saying what is
 * wrong: not 0x and 40 hex digits, a mixed-case address whose checksum fails (a typo), or zero.
 */
export function parsePayoutAddress (text: string): Address {
  const trimmed = text.trim()
  if (!/^0x[0-9a-fA-F]{40}$/.test(trimmed)) throw new PayoutAddressError('an address is 0x followed by 40 hex digits')
  if (!isAddress(trimmed, { strict: true })) throw new PayoutAddressError('the address\'s checksum (its mix of upper and lower case) does not match: check it for a typo, or paste it in lower case')
  if (/^0x0{40}$/.test(trimmed)) throw new PayoutAddressError('the zero address burns what it is paid: give a wallet you hold')
  return getAddress(trimmed)
}

/** The payout address this browser keeps (valid, or none). */
export function keptPayoutAddress (): Address | undefined {
  const kept = localStorage.getItem(PAYOUT_KEY)
  if (kept === null) return undefined
  try {
    return parsePayoutAddress(kept)
  } catch {
    return undefined
  }
}

export function keepPayoutAddress (address: Address): void {
  localStorage.setItem(PAYOUT_KEY, address)
}
