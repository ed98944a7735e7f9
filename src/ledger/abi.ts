import { parseAbi } from 'viem'

/**
 * The contracts' interfaces as viem reads them (typed at compile time). abi.test.ts checks every
 * entry against what solc produces from contracts/, so these cannot drift from the Solidity.
 */
export const conunTokenAbi = parseAbi([
  'constructor(address holder, uint256 supply)',
  'function name() view returns (string)',
  'function symbol() view returns (string)',
  'function decimals() view returns (uint8)',
  'function totalSupply() view returns (uint256)',
  'function balanceOf(address account) view returns (uint256)',
  'function transfer(address to, uint256 value) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 value) returns (bool)',
  'function transferFrom(address from, address to, uint256 value) returns (bool)',
  'function nonces(address owner) view returns (uint256)',
  'function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
  'error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)',
  'error ERC2612ExpiredSignature(uint256 deadline)',
  'error ERC2612InvalidSigner(address signer, address owner)',
])

export const jobEscrowAbi = parseAbi([
  'constructor(address token_)',
  'function token() view returns (address)',
  'function CLAIM_GRACE() view returns (uint256)',
  'function jobs(bytes32 jobId) view returns (address requester, uint96 budget, uint96 paid, uint40 deadline, bool closed)',
  'function claimed(bytes32 jobId, address provider) view returns (uint256)',
  'function openJob(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline)',
  'function openJobWithPermit(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)',
  'function claim(bytes32 jobId, address provider, uint256 cumulativeAmount, bytes signature)',
  'function finalize(bytes32 jobId, bytes32 resultRoot, address[] providers, uint256[] cumulativeAmounts)',
  'function refund(bytes32 jobId)',
  'function receiptDigest(bytes32 jobId, address provider, uint256 cumulativeAmount) view returns (bytes32)',
  'event JobOpened(bytes32 indexed jobId, address indexed requester, bytes32 specHash, uint256 budget, uint256 deadline)',
  'event Claimed(bytes32 indexed jobId, address indexed provider, uint256 cumulativeAmount, uint256 paid)',
  'event JobFinalized(bytes32 indexed jobId, bytes32 resultRoot, uint256 paidTotal, uint256 released)',
  'event JobRefunded(bytes32 indexed jobId, uint256 refunded)',
  'error JobExists(bytes32 jobId)',
  'error UnknownJob(bytes32 jobId)',
  'error JobClosed(bytes32 jobId)',
  'error BadBudget()',
  'error BadDeadline()',
  'error NotRequester(address caller)',
  'error BadReceiptSigner(address signer)',
  'error ReceiptNotNewer(uint256 cumulativeAmount, uint256 alreadyClaimed)',
  'error OverBudget(uint256 due, uint256 remaining)',
  'error RefundTooEarly(uint256 availableAt)',
  'error LengthMismatch()',
  'error ReentrancyGuardReentrantCall()',
])

export const reentrantTokenAbi = parseAbi([
  'constructor(address holder, uint256 supply)',
  'function arm(address escrow_, bytes reentry_)',
  'function approve(address spender, uint256 value) returns (bool)',
  'function balanceOf(address account) view returns (uint256)',
  'function reentered() view returns (bool)',
  'function reentrySucceeded() view returns (bool)',
])
