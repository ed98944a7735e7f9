import { formatUnits, parseUnits } from 'viem'
import { AmountError } from './errors.ts'

/** CON has 18 decimals, like ether. */
export const CON_DECIMALS = 18

/** An amount of CON as text: digits, and at most 18 decimals (as job specs take it). */
const CON_AMOUNT = /^\d{1,30}(\.\d{1,18})?$/

/** "1.5" → 1.5 CON in wei; anything but a plain non-negative decimal with ≤ 18 places is an error. */
export function parseCon (text: string): bigint {
  const trimmed = text.trim()
  if (!CON_AMOUNT.test(trimmed)) throw new AmountError(`"${text}" is not an amount of CON (a number like 12 or 0.5, at most 18 decimals)`)
  return parseUnits(trimmed, CON_DECIMALS)
}

/** 1500000000000000000n → "1.5 CON". */
export function formatCon (wei: bigint): string {
  return `${formatUnits(wei, CON_DECIMALS)} CON`
}
