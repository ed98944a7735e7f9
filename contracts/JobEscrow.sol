// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title Escrow for conun jobs, paid out by cumulative receipts.
/// @notice A requester locks a job's budget here. After each accepted result it signs the provider an
/// EIP-712 receipt for the total owed so far; a claim pays the difference from what was already paid,
/// so one claim (or the requester's final settlement) pays any number of tasks. There is no owner:
/// escrowed funds only ever move to the job's providers (by receipt) or back to its requester.
contract JobEscrow is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// Two storage slots per job. uint96 holds 79 billion tokens of 18 decimals.
    struct Job {
        address requester;
        uint96 budget;
        uint96 paid;
        uint40 deadline;
        bool closed; // finalized or refunded: nothing more leaves the escrow for this job
    }

    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("Receipt(bytes32 jobId,address provider,uint256 cumulativeAmount)");

    /// After the deadline, providers still have this long to claim before the requester may refund.
    uint256 public constant CLAIM_GRACE = 1 days;

    IERC20 public immutable token;

    mapping(bytes32 jobId => Job) public jobs;
    mapping(bytes32 jobId => mapping(address provider => uint256)) public claimed;

    event JobOpened(bytes32 indexed jobId, address indexed requester, bytes32 specHash, uint256 budget, uint256 deadline);
    event Claimed(bytes32 indexed jobId, address indexed provider, uint256 cumulativeAmount, uint256 paid);
    event JobFinalized(bytes32 indexed jobId, bytes32 resultRoot, uint256 paidTotal, uint256 released);
    event JobRefunded(bytes32 indexed jobId, uint256 refunded);

    error JobExists(bytes32 jobId);
    error UnknownJob(bytes32 jobId);
    error JobClosed(bytes32 jobId);
    error BadBudget();
    error BadDeadline();
    error NotRequester(address caller);
    error BadReceiptSigner(address signer);
    error ReceiptNotNewer(uint256 cumulativeAmount, uint256 alreadyClaimed);
    error OverBudget(uint256 due, uint256 remaining);
    error RefundTooEarly(uint256 availableAt);
    error LengthMismatch();

    constructor(IERC20 token_) EIP712("ConunJobEscrow", "1") {
        token = token_;
    }

    /// Locks `budget` tokens (already approved) for a job and records its spec hash.
    function openJob(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline) external nonReentrant {
        _open(jobId, specHash, budget, deadline);
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
    ) external nonReentrant {
        // A front-run permit is already spent; the allowance it set is what matters, so ignore failure.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), budget, permitDeadline, v, r, s) {} catch {}
        _open(jobId, specHash, budget, deadline);
    }

    /// Pays `provider` what a receipt signed by the job's requester says it is owed, minus what it was
    /// already paid. Anyone may submit it; the tokens always go to `provider`.
    function claim(bytes32 jobId, address provider, uint256 cumulativeAmount, bytes calldata signature)
        external
        nonReentrant
    {
        Job storage job = _openJob(jobId);
        address signer = ECDSA.recover(_hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, jobId, provider, cumulativeAmount))), signature);
        if (signer != job.requester) revert BadReceiptSigner(signer);
        uint256 already = claimed[jobId][provider];
        if (cumulativeAmount <= already) revert ReceiptNotNewer(cumulativeAmount, already);
        uint256 due = _book(job, cumulativeAmount - already);
        claimed[jobId][provider] = cumulativeAmount;
        emit Claimed(jobId, provider, cumulativeAmount, due);
        token.safeTransfer(provider, due);
    }

    /// The requester closes the job: records the Merkle root of the accepted results, pays each listed
    /// provider up to its final cumulative amount (the requester's own word needs no signature), and
    /// takes back the rest of the budget.
    function finalize(bytes32 jobId, bytes32 resultRoot, address[] calldata providers, uint256[] calldata cumulativeAmounts)
        external
        nonReentrant
    {
        Job storage job = _openJob(jobId);
        if (msg.sender != job.requester) revert NotRequester(msg.sender);
        if (providers.length != cumulativeAmounts.length) revert LengthMismatch();
        uint256[] memory dues = new uint256[](providers.length);
        for (uint256 i = 0; i < providers.length; i++) {
            // A provider may have claimed this much or more already. The job closes below, so
            // `claimed` needs no update: no later claim can be paid.
            uint256 already = claimed[jobId][providers[i]];
            if (cumulativeAmounts[i] <= already) continue;
            dues[i] = _book(job, cumulativeAmounts[i] - already);
            emit Claimed(jobId, providers[i], cumulativeAmounts[i], dues[i]);
        }
        uint256 released = job.budget - job.paid;
        job.closed = true;
        emit JobFinalized(jobId, resultRoot, job.paid, released);
        for (uint256 i = 0; i < providers.length; i++) {
            if (dues[i] > 0) token.safeTransfer(providers[i], dues[i]);
        }
        if (released > 0) token.safeTransfer(job.requester, released);
    }

    /// After the deadline and the providers' grace period, returns whatever is unclaimed to the requester.
    function refund(bytes32 jobId) external nonReentrant {
        Job storage job = _openJob(jobId);
        uint256 availableAt = uint256(job.deadline) + CLAIM_GRACE;
        if (block.timestamp < availableAt) revert RefundTooEarly(availableAt);
        uint256 refunded = job.budget - job.paid;
        job.closed = true;
        emit JobRefunded(jobId, refunded);
        if (refunded > 0) token.safeTransfer(job.requester, refunded);
    }

    /// The EIP-712 digest a requester signs for a receipt (for clients and tests).
    function receiptDigest(bytes32 jobId, address provider, uint256 cumulativeAmount) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, jobId, provider, cumulativeAmount)));
    }

    function _open(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline) private {
        if (jobs[jobId].requester != address(0)) revert JobExists(jobId);
        if (budget == 0) revert BadBudget();
        if (deadline <= block.timestamp) revert BadDeadline();
        jobs[jobId] = Job({requester: msg.sender, budget: budget, paid: 0, deadline: deadline, closed: false});
        emit JobOpened(jobId, msg.sender, specHash, budget, deadline);
        token.safeTransferFrom(msg.sender, address(this), budget);
    }

    function _openJob(bytes32 jobId) private view returns (Job storage job) {
        job = jobs[jobId];
        if (job.requester == address(0)) revert UnknownJob(jobId);
        if (job.closed) revert JobClosed(jobId);
    }

    /// Books a payment against the job's budget.
    function _book(Job storage job, uint256 due) private returns (uint256) {
        uint256 remaining = job.budget - job.paid;
        if (due > remaining) revert OverBudget(due, remaining);
        job.paid += uint96(due);
        return due;
    }
}
