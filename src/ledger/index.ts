/**
 * The ledger domain's public door: conun's contracts (CON token, job escrow) and the viem client
 * functions over them, the embedded dev chain, EIP-712 receipts and result roots.
 */
export { conunTokenAbi, jobEscrowAbi, reentrantTokenAbi } from './abi.ts'
export { loadArtifacts } from './compileContracts.ts'
export type { Artifacts, ContractArtifact } from './compileContracts.ts'
export { DEVNET_CHAIN_ID, startDevChain } from './devChain.ts'
export type { DevChain } from './devChain.ts'
export { createLedgerClient, LedgerError, sendContract } from './ledgerClient.ts'
export type { ChainInfo, LedgerClient, SentTransaction } from './ledgerClient.ts'
export { jobKeyOf, onchainJobId, openJob } from './openJob.ts'
export { readEscrowJob, readEscrowShare, readJobSpecHash } from './readEscrowJob.ts'
export type { EscrowJob, EscrowShare } from './readEscrowJob.ts'
export { reservePayments } from './reservePayments.ts'
export { claimPayment } from './claimPayment.ts'
export { finalizeJob, refundJob } from './finalizeJob.ts'
export { receiptDigest, signReceipt, verifyReceipt } from './receipt.ts'
export type { Receipt } from './receipt.ts'
export { resultRoot } from './resultRoot.ts'
export type { ResultLeaf } from './resultRoot.ts'
export { AmountError, formatCon, parseCon } from './units.ts'
export { fundFromFaucet, readBalances, transferCon } from './wallet.ts'
export type { Balances } from './wallet.ts'
