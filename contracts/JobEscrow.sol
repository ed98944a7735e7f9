// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title Escrow for conun jobs, paid out by cumulative receipts within on-chain reservations.
/// @notice A requester locks a job's budget here and reserves part of it for each provider as the
/// job goes on; the reservations never add up to more than the budget and never shrink. After each
/// accepted result it signs the provider an EIP-712 receipt for the total owed so far; a claim pays
/// what the receipt adds, up to the provider's reservation, so a receipt within a reservation is
/// always paid: no other provider's claim and no final settlement can take that money. The final
/// settlement pays every provider, returns what nobody has reserved at once, and leaves what is
/// reserved and unpaid claimable for CLAIM_GRACE before it goes back. There is no owner: escrowed
/// funds only ever move to the job's providers (by receipt) or back to its requester.
contract JobEscrow is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// Two storage slots per job. uint96 holds 79 billion tokens of 18 decimals.
    struct Job {
        address requester;
        uint96 budget; // what the job locked; finalize cuts it to what is reserved
        uint96 reserved; // the providers' reservations together, never above the budget
        uint96 paid;
        uint40 deadline; // refunds open CLAIM_GRACE after it; finalize moves it to its own time
        bool finalized; // settled by the requester: nothing more is reserved or released early
        bool closed; // refunded: nothing more leaves the escrow for this job
    }

    /// One storage slot per provider of a job.
    struct Share {
        uint96 reserved;
        uint96 claimed;
    }

    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("Receipt(bytes32 jobKey,address provider,uint256 cumulativeAmount)");

    /// After the deadline, or after the final settlement, providers still have this long to claim
    /// what is reserved for them before anyone may refund the rest to the requester.
    uint256 public constant CLAIM_GRACE = 1 days;

    IERC20 public immutable token;

    /// Jobs by key: keccak256(abi.encode(requester, jobId)), so nobody can take a requester's job id.
    mapping(bytes32 jobKey => Job) public jobs;
    mapping(bytes32 jobKey => mapping(address provider => Share)) public shares;

    event JobOpened(bytes32 indexed jobKey, address indexed requester, bytes32 jobId, bytes32 specHash, uint256 budget, uint256 deadline);
    event Reserved(bytes32 indexed jobKey, address indexed provider, uint256 reserved);
    event Claimed(bytes32 indexed jobKey, address indexed provider, uint256 cumulativeAmount, uint256 paid);
    event JobFinalized(bytes32 indexed jobKey, bytes32 resultRoot, uint256 paidTotal, uint256 released);
    event JobRefunded(bytes32 indexed jobKey, uint256 refunded);

    error JobExists(bytes32 jobKey);
    error UnknownJob(bytes32 jobKey);
    error JobClosed(bytes32 jobKey);
    error AlreadyFinalized(bytes32 jobKey);
    error BadBudget();
    error BadDeadline();
    error NotRequester(address caller);
    error BadReceiptSigner(address signer);
    error ReceiptNotNewer(uint256 cumulativeAmount, uint256 alreadyClaimed);
    error NotReserved(uint256 cumulativeAmount, uint256 reserved);
    error ReservationLowered(address provider, uint256 reserved, uint256 amount);
    error OverBudget(uint256 reserved, uint256 budget);
    error RefundTooEarly(uint256 availableAt);
    error LengthMismatch();

    constructor(IERC20 token_) EIP712("ConunJobEscrow", "2") {
        token = token_;
    }

    /// The key a requester's job id has in this escrow.
    function jobKey(address requester, bytes32 jobId) public pure returns (bytes32) {
        return keccak256(abi.encode(requester, jobId));
    }

    /// Locks `budget` tokens (already approved) for the caller's job `jobId` and records its spec hash.
    function openJob(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline) external nonReentrant returns (bytes32) {
        return _open(jobId, specHash, budget, deadline);
    }

    /// The same as openJob, with an EIP-2612 permit instead of a prior approve: one transaction.
    function openJobWithPermit(
        bytes32 jobId,
        bytes32 specHash,
        uint96 budget,
        uint40 deadline,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (bytes32) {
        // A front-run permit is already spent; the allowance it set is what matters, so ignore failure.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), budget, permitDeadline, v, r, s) {} catch {}
        return _open(jobId, specHash, budget, deadline);
    }

    /// The requester raises providers' reservations to `amounts` (never lowers them), within the budget.
    function reserve(bytes32 key, address[] calldata providers, uint96[] calldata amounts) external {
        Job storage job = _requesterJob(key);
        if (providers.length != amounts.length) revert LengthMismatch();
        uint256 reserved = job.reserved;
        for (uint256 i = 0; i < providers.length; i++) {
            Share storage share = shares[key][providers[i]];
            uint96 before = share.reserved;
            if (amounts[i] < before) revert ReservationLowered(providers[i], before, amounts[i]);
            reserved += amounts[i] - before;
            share.reserved = amounts[i];
            emit Reserved(key, providers[i], amounts[i]);
        }
        if (reserved > job.budget) revert OverBudget(reserved, job.budget);
        job.reserved = uint96(reserved);
    }

    /// Pays `provider` what a receipt signed by the job's requester says it is owed, up to its
    /// reservation, minus what it was already paid. Anyone may submit it; the tokens always go to
    /// `provider`. It works until the job is refunded, so also after the final settlement.
    function claim(bytes32 key, address provider, uint256 cumulativeAmount, bytes calldata signature)
        external
        nonReentrant
    {
        Job storage job = _liveJob(key);
        address signer = ECDSA.recover(_receiptDigest(key, provider, cumulativeAmount), signature);
        if (signer != job.requester) revert BadReceiptSigner(signer);
        Share storage share = shares[key][provider];
        (uint96 reserved, uint96 claimed) = (share.reserved, share.claimed);
        if (cumulativeAmount <= claimed) revert ReceiptNotNewer(cumulativeAmount, claimed);
        // What a receipt says beyond the reservation is the requester's word only: it waits for a
        // larger reservation or the final settlement.
        uint96 covered = cumulativeAmount < reserved ? uint96(cumulativeAmount) : reserved;
        if (covered <= claimed) revert NotReserved(cumulativeAmount, reserved);
        uint96 due = covered - claimed;
        share.claimed = covered;
        job.paid += due;
        emit Claimed(key, provider, covered, due);
        token.safeTransfer(provider, due);
    }

    /// The requester closes the job: records the Merkle root of the accepted results, pays each
    /// listed provider up to its final cumulative amount (the requester's own word needs no
    /// signature; a reservation below it is raised from the unreserved budget) and takes back what
    /// nobody has reserved. What is reserved and unpaid stays claimable by receipt for CLAIM_GRACE.
    function finalize(bytes32 key, bytes32 resultRoot, address[] calldata providers, uint96[] calldata amounts)
        external
        nonReentrant
    {
        Job storage job = _requesterJob(key);
        if (providers.length != amounts.length) revert LengthMismatch();
        uint256 reserved = job.reserved;
        uint256 paid = job.paid;
        uint256[] memory dues = new uint256[](providers.length);
        for (uint256 i = 0; i < providers.length; i++) {
            Share memory share = shares[key][providers[i]];
            uint96 amount = amounts[i];
            if (amount > share.reserved) {
                reserved += amount - share.reserved;
                share.reserved = amount;
            }
            if (amount <= share.claimed) continue;
            dues[i] = amount - share.claimed;
            paid += dues[i];
            share.claimed = amount;
            shares[key][providers[i]] = share;
            emit Claimed(key, providers[i], amount, dues[i]);
        }
        if (reserved > job.budget) revert OverBudget(reserved, job.budget);
        uint256 released = job.budget - reserved;
        (job.budget, job.reserved, job.paid) = (uint96(reserved), uint96(reserved), uint96(paid));
        job.deadline = uint40(block.timestamp);
        job.finalized = true;
        emit JobFinalized(key, resultRoot, paid, released);
        for (uint256 i = 0; i < providers.length; i++) {
            if (dues[i] > 0) token.safeTransfer(providers[i], dues[i]);
        }
        if (released > 0) token.safeTransfer(job.requester, released);
    }

    /// CLAIM_GRACE after the deadline (or after the final settlement), returns whatever is unpaid to the requester.
    function refund(bytes32 key) external nonReentrant {
        Job storage job = _liveJob(key);
        uint256 availableAt = uint256(job.deadline) + CLAIM_GRACE;
        if (block.timestamp < availableAt) revert RefundTooEarly(availableAt);
        uint256 refunded = job.budget - job.paid;
        job.closed = true;
        emit JobRefunded(key, refunded);
        if (refunded > 0) token.safeTransfer(job.requester, refunded);
    }

    /// The EIP-712 digest a requester signs for a receipt (for clients and tests).
    function receiptDigest(bytes32 key, address provider, uint256 cumulativeAmount) external view returns (bytes32) {
        return _receiptDigest(key, provider, cumulativeAmount);
    }

    function _receiptDigest(bytes32 key, address provider, uint256 cumulativeAmount) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, key, provider, cumulativeAmount)));
    }

    function _open(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline) private returns (bytes32 key) {
        key = jobKey(msg.sender, jobId);
        if (jobs[key].requester != address(0)) revert JobExists(key);
        if (budget == 0) revert BadBudget();
        if (deadline <= block.timestamp) revert BadDeadline();
        jobs[key] = Job({requester: msg.sender, budget: budget, reserved: 0, paid: 0, deadline: deadline, finalized: false, closed: false});
        emit JobOpened(key, msg.sender, jobId, specHash, budget, deadline);
        token.safeTransferFrom(msg.sender, address(this), budget);
    }

    function _liveJob(bytes32 key) private view returns (Job storage job) {
        job = jobs[key];
        if (job.requester == address(0)) revert UnknownJob(key);
        if (job.closed) revert JobClosed(key);
    }

    /// A job its requester may still reserve for or settle.
    function _requesterJob(bytes32 key) private view returns (Job storage job) {
        job = _liveJob(key);
        if (msg.sender != job.requester) revert NotRequester(msg.sender);
        if (job.finalized) revert AlreadyFinalized(key);
    }
}
