// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title Escrow for conun jobs: a requester's standing balance, and a payment line to each of its providers.
/// @notice A requester deposits into a standing balance here. For each provider it works with it sets
/// part of that balance aside on a payment line, which all its jobs with that provider draw on; a
/// line's reservation only rises, until the requester announces that it takes the unpaid rest back
/// and RELEASE_NOTICE has passed. After each accepted result the requester signs the provider an
/// EIP-712 receipt for the total it owes on the line so far, over all its jobs; a claim pays what the
/// receipt adds, up to the reservation, so a receipt within the reservation is always paid: nothing
/// the requester does can take that money back. A job's settlement pays each of its providers up to
/// the total owed (the requester's own word needs no signature), draws what a reservation lacks from
/// the balance, and records the job's result root in an event. There is no owner: escrowed funds
/// only ever move to a requester's providers or back to the requester.
/// @dev Version 5 keeps no job: version 4 wrote a slot per job and one per job and provider for each
/// reservation, so a 1,000-task job with three providers cost about 1,060 gas per task in all. Lines
/// outlive jobs, so a job opens with no transaction, a reservation is seldom needed after a
/// provider's first job, and a settlement writes one existing slot per provider.
contract JobEscrow is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// A requester's line to one provider: one storage slot.
    struct Line {
        uint96 reserved; // set aside for the provider in all, less what releases took back
        uint96 paid; // paid to the provider in all: what its receipts and settlements reached
        uint40 releaseAt; // 0, or when the requester may take back what is reserved and unpaid
    }

    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("Receipt(address requester,address provider,uint256 cumulativeAmount)");

    /// After a requester announces a release, its provider has this long to claim with its receipts.
    uint256 public constant RELEASE_NOTICE = 1 days;

    IERC20 public immutable token;

    /// What each requester deposited or got back and has not set aside on a line: withdrawable.
    mapping(address requester => uint256) public balances;
    mapping(address requester => mapping(address provider => Line)) public lines;

    event Deposited(address indexed requester, uint256 amount, uint256 free);
    event Withdrawn(address indexed requester, uint256 amount, uint256 free);
    event Reserved(address indexed requester, address indexed provider, uint256 reserved);
    event Paid(address indexed requester, address indexed provider, uint256 cumulativeAmount, uint256 paid);
    event JobSettled(address indexed requester, bytes32 indexed jobId, bytes32 resultRoot, uint256 paid);
    event ReleaseAnnounced(address indexed requester, address indexed provider, uint256 releaseAt);
    event Released(address indexed requester, address indexed provider, uint256 released);

    error InsufficientBalance(uint256 free, uint256 needed);
    error LengthMismatch();
    error ReservationLowered(address provider, uint256 reserved, uint256 amount);
    error BadReceiptSigner(address signer);
    error NothingToClaim(uint256 cumulativeAmount, uint256 reserved, uint256 paid);
    error NoRelease(address provider);
    error ReleaseTooEarly(uint256 availableAt);

    constructor(IERC20 token_) EIP712("ConunJobEscrow", "5") {
        token = token_;
    }

    /// Adds `amount` tokens (already approved) to the caller's standing balance.
    function deposit(uint96 amount) external nonReentrant {
        _deposit(amount);
    }

    /// The same as deposit, with an EIP-2612 permit instead of a prior approve: one transaction.
    function depositWithPermit(uint96 amount, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        // A front-run permit is already spent; the allowance it set is what matters, so ignore failure.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, permitDeadline, v, r, s) {} catch {}
        _deposit(amount);
    }

    /// Sends `amount` of the caller's standing balance back to it; what its lines hold is not part of it.
    function withdraw(uint96 amount) external nonReentrant {
        uint256 free = balances[msg.sender];
        if (amount > free) revert InsufficientBalance(free, amount);
        balances[msg.sender] = free - amount;
        emit Withdrawn(msg.sender, amount, free - amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// Raises the caller's reservations for `providers` to `amounts` (never lowers one), from its
    /// standing balance. A raise withdraws a release announced for that line.
    function reserve(address[] calldata providers, uint96[] calldata amounts) external {
        if (providers.length != amounts.length) revert LengthMismatch();
        uint256 drawn = 0;
        for (uint256 i = 0; i < providers.length; i++) {
            Line storage line = lines[msg.sender][providers[i]];
            uint96 before = line.reserved;
            if (amounts[i] < before) revert ReservationLowered(providers[i], before, amounts[i]);
            if (amounts[i] == before) continue;
            drawn += amounts[i] - before;
            (line.reserved, line.releaseAt) = (amounts[i], 0);
            emit Reserved(msg.sender, providers[i], amounts[i]);
        }
        _draw(drawn);
    }

    /// Settles the caller's job `jobId`: records the root of its accepted results and pays each listed
    /// provider up to `amounts`, the total the caller owes it on their line (so also for other jobs),
    /// and raises the line's reservation to `reserves` when that is more (pay reserved ahead for the
    /// provider's next job: no reservation needed then). What the lines need beyond their
    /// reservations comes from the standing balance. A provider listed twice, or already paid as much
    /// by a claim, is paid nothing more. The tokens' Transfer events say what each provider got.
    function settle(
        bytes32 jobId,
        bytes32 resultRoot,
        address[] calldata providers,
        uint96[] calldata amounts,
        uint96[] calldata reserves
    ) external nonReentrant {
        if (providers.length != amounts.length || providers.length != reserves.length) revert LengthMismatch();
        uint256[] memory due = new uint256[](providers.length);
        (uint256 drawn, uint256 total) = (0, 0);
        for (uint256 i = 0; i < providers.length; i++) {
            uint256 raise;
            (raise, due[i]) = _settleLine(providers[i], amounts[i], reserves[i]);
            (drawn, total) = (drawn + raise, total + due[i]);
        }
        // Drawn before any transfer, so that a settlement beyond the balance fails as such.
        _draw(drawn);
        emit JobSettled(msg.sender, jobId, resultRoot, total);
        for (uint256 i = 0; i < providers.length; i++) {
            if (due[i] > 0) token.safeTransfer(providers[i], due[i]);
        }
    }

    /// Pays `provider` what a receipt signed by `requester` says it is owed on their line, up to the
    /// line's reservation, minus what it was already paid. Anyone may submit it; the tokens always go
    /// to `provider`.
    function claim(address requester, address provider, uint256 cumulativeAmount, bytes calldata signature)
        external
        nonReentrant
    {
        address signer = ECDSA.recover(_receiptDigest(requester, provider, cumulativeAmount), signature);
        if (signer != requester) revert BadReceiptSigner(signer);
        Line storage line = lines[requester][provider];
        (uint96 reserved, uint96 paid) = (line.reserved, line.paid);
        // What a receipt says beyond the reservation is the requester's word only: it waits for a
        // larger reservation or a settlement.
        uint96 covered = cumulativeAmount < reserved ? uint96(cumulativeAmount) : reserved;
        if (covered <= paid) revert NothingToClaim(cumulativeAmount, reserved, paid);
        line.paid = covered;
        emit Paid(requester, provider, covered, covered - paid);
        token.safeTransfer(provider, covered - paid);
    }

    /// Starts the notice after which the caller may take back what its line to `provider` holds unpaid.
    function announceRelease(address provider) external {
        uint256 releaseAt = block.timestamp + RELEASE_NOTICE;
        lines[msg.sender][provider].releaseAt = uint40(releaseAt);
        emit ReleaseAnnounced(msg.sender, provider, releaseAt);
    }

    /// Once the announced notice is over, moves what the caller's line to `provider` holds unpaid back
    /// to its standing balance.
    function release(address provider) external {
        Line storage line = lines[msg.sender][provider];
        (uint96 reserved, uint96 paid, uint40 releaseAt) = (line.reserved, line.paid, line.releaseAt);
        if (releaseAt == 0) revert NoRelease(provider);
        if (block.timestamp < releaseAt) revert ReleaseTooEarly(releaseAt);
        (line.reserved, line.releaseAt) = (paid, 0);
        balances[msg.sender] += reserved - paid;
        emit Released(msg.sender, provider, reserved - paid);
    }

    /// The EIP-712 digest a requester signs for a receipt (for clients and tests).
    function receiptDigest(address requester, address provider, uint256 cumulativeAmount) external view returns (bytes32) {
        return _receiptDigest(requester, provider, cumulativeAmount);
    }

    function _receiptDigest(address requester, address provider, uint256 cumulativeAmount) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, requester, provider, cumulativeAmount)));
    }

    /// Pays the caller's line to `provider` up to `amount` and reserves it up to `reserveTo` (or
    /// `amount`, if more): what the reservation rose by, and what the provider is due now.
    function _settleLine(address provider, uint96 amount, uint96 reserveTo) private returns (uint256 raise, uint256 due) {
        Line memory line = lines[msg.sender][provider];
        uint96 target = reserveTo > amount ? reserveTo : amount;
        if (target > line.reserved) (raise, line.reserved) = (target - line.reserved, target);
        if (amount > line.paid) (due, line.paid) = (amount - line.paid, amount);
        if (raise > 0 || due > 0) lines[msg.sender][provider] = line;
    }

    function _deposit(uint96 amount) private {
        uint256 free = balances[msg.sender] + amount;
        balances[msg.sender] = free;
        emit Deposited(msg.sender, amount, free);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// Takes `amount` from the caller's standing balance (nothing read or written for 0).
    function _draw(uint256 amount) private {
        if (amount == 0) return;
        uint256 free = balances[msg.sender];
        if (amount > free) revert InsufficientBalance(free, amount);
        balances[msg.sender] = free - amount;
    }
}
