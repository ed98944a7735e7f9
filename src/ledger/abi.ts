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
  'function jobKey(address requester, bytes32 jobId) pure returns (bytes32)',
  'function jobs(bytes32 jobKey) view returns (address requester, uint96 budget, uint96 reserved, uint96 paid, uint40 deadline, bool finalized, bool closed)',
  'function shares(bytes32 jobKey, address provider) view returns (uint96 reserved, uint96 claimed)',
  'function openJob(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline) returns (bytes32)',
  'function openJobWithPermit(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s) returns (bytes32)',
  'function reserve(bytes32 key, address[] providers, uint96[] amounts)',
  'function claim(bytes32 key, address provider, uint256 cumulativeAmount, bytes signature)',
  'function finalize(bytes32 key, bytes32 resultRoot, address[] providers, uint96[] amounts)',
  'function refund(bytes32 key)',
  'function receiptDigest(bytes32 key, address provider, uint256 cumulativeAmount) view returns (bytes32)',
  'event JobOpened(bytes32 indexed jobKey, address indexed requester, bytes32 jobId, bytes32 specHash, uint256 budget, uint256 deadline)',
  'event Reserved(bytes32 indexed jobKey, address indexed provider, uint256 reserved)',
  'event Claimed(bytes32 indexed jobKey, address indexed provider, uint256 cumulativeAmount, uint256 paid)',
  'event JobFinalized(bytes32 indexed jobKey, bytes32 resultRoot, uint256 paidTotal, uint256 released)',
  'event JobRefunded(bytes32 indexed jobKey, uint256 refunded)',
  'error JobExists(bytes32 jobKey)',
  'error UnknownJob(bytes32 jobKey)',
  'error JobClosed(bytes32 jobKey)',
  'error AlreadyFinalized(bytes32 jobKey)',
  'error BadBudget()',
  'error BadDeadline()',
  'error NotRequester(address caller)',
  'error BadReceiptSigner(address signer)',
  'error ReceiptNotNewer(uint256 cumulativeAmount, uint256 alreadyClaimed)',
  'error NotReserved(uint256 cumulativeAmount, uint256 reserved)',
  'error ReservationLowered(address provider, uint256 reserved, uint256 amount)',
  'error OverBudget(uint256 reserved, uint256 budget)',
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
