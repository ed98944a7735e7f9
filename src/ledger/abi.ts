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
  'function RELEASE_NOTICE() view returns (uint256)',
  'function balances(address requester) view returns (uint256)',
  'function lines(address requester, address provider) view returns (uint96 reserved, uint96 paid, uint40 releaseAt)',
  'function deposit(uint96 amount)',
  'function depositWithPermit(uint96 amount, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)',
  'function withdraw(uint96 amount)',
  'function reserve(address[] providers, uint96[] amounts)',
  'function settle(bytes32 jobId, bytes32 resultRoot, address[] providers, uint96[] amounts, uint96[] reserves)',
  'function claim(address requester, address provider, uint256 cumulativeAmount, bytes signature)',
  'function announceRelease(address provider)',
  'function release(address provider)',
  'function receiptDigest(address requester, address provider, uint256 cumulativeAmount) view returns (bytes32)',
  'event Deposited(address indexed requester, uint256 amount, uint256 free)',
  'event Withdrawn(address indexed requester, uint256 amount, uint256 free)',
  'event Reserved(address indexed requester, address indexed provider, uint256 reserved)',
  'event Paid(address indexed requester, address indexed provider, uint256 cumulativeAmount, uint256 paid)',
  'event JobSettled(address indexed requester, bytes32 indexed jobId, bytes32 resultRoot, uint256 paid)',
  'event ReleaseAnnounced(address indexed requester, address indexed provider, uint256 releaseAt)',
  'event Released(address indexed requester, address indexed provider, uint256 released)',
  'error InsufficientBalance(uint256 free, uint256 needed)',
  'error LengthMismatch()',
  'error ReservationLowered(address provider, uint256 reserved, uint256 amount)',
  'error BadReceiptSigner(address signer)',
  'error NothingToClaim(uint256 cumulativeAmount, uint256 reserved, uint256 paid)',
  'error NoRelease(address provider)',
  'error ReleaseTooEarly(uint256 availableAt)',
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
