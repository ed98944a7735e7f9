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
/// @dev Version 3 adds a standing balance per requester: deposited once (with a permit), drawn on
/// by many jobs (openJobFromBalance), topped up by what those jobs give back, and withdrawable only
/// where no open job holds it. A job is one storage slot (two once a provider claims), so opening
/// one from the balance writes one new slot and moves no token.
/// Version 4: a settlement that pays every reservation in full writes no provider's share (a new
/// slot of 22,100 gas for each provider nothing was reserved for): no claim can pay more after it,
/// so claims are refused, and what it paid each provider is in its Claimed events.
contract JobEscrow is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// A job in one storage slot. uint88 holds 309 million tokens of 18 decimals.
    struct Job {
        uint32 account; // the requester's account number (see accountOwner)
        uint88 budget; // what the job locked; finalize cuts it to what is reserved
        uint88 reserved; // the providers' reservations together, never above the budget
        uint40 deadline; // refunds open CLAIM_GRACE after it; finalize moves it to its own time
        uint8 flags; // FINALIZED, CLOSED, FROM_BALANCE, SETTLED, CLAIMED
    }

    /// A requester's standing balance and account number, one slot.
    struct Account {
        uint96 free; // deposited or given back and held by no job: withdrawable
        uint32 number; // 0 until the requester's first deposit or job
    }

    /// One storage slot per provider of a job.
    struct Share {
        uint96 reserved;
        uint96 claimed;
    }

    /// A listed provider's share as a settlement leaves it, and what the settlement pays it.
    struct Payout {
        Share share;
        uint96 due;
    }

    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("Receipt(bytes32 jobKey,address provider,uint256 cumulativeAmount)");

    /// After the deadline, or after the final settlement, providers still have this long to claim
    /// what is reserved for them before anyone may refund the rest to the requester.
    uint256 public constant CLAIM_GRACE = 1 days;

    /// Job flags. FINALIZED: settled by the requester, nothing more is reserved or released early.
    /// CLOSED: refunded; nothing more leaves the escrow for this job.
    /// FROM_BALANCE: what the job gives back goes to the requester's standing balance.
    /// SETTLED: the settlement paid every reservation, so paid = reserved = budget.
    /// CLAIMED: a provider claimed, so _paid holds something (the settlement reads it only then).
    uint8 private constant FINALIZED = 1;
    uint8 private constant CLOSED = 2;
    uint8 private constant FROM_BALANCE = 4;
    uint8 private constant SETTLED = 8;
    uint8 private constant CLAIMED = 16;

    IERC20 public immutable token;

    /// Jobs by key: keccak256(abi.encode(requester, jobId)), so nobody can take a requester's job id.
    /// A job's slot stays for good, so a key is never opened twice.
    mapping(bytes32 jobKey => Job) private _jobs;
    /// What a job has paid, kept apart so that opening a job writes one slot; a SETTLED job paid its budget.
    mapping(bytes32 jobKey => uint256) private _paid;
    /// Not written by a settlement that pays every reservation (SETTLED): read Claimed events then.
    mapping(bytes32 jobKey => mapping(address provider => Share)) public shares;
    mapping(address requester => Account) public accounts;
    mapping(uint32 number => address requester) public accountOwner;
    uint32 public accountCount;

    event JobOpened(bytes32 indexed jobKey, address indexed requester, bytes32 jobId, bytes32 specHash, uint256 budget, uint256 deadline);
    event Reserved(bytes32 indexed jobKey, address indexed provider, uint256 reserved);
    event Claimed(bytes32 indexed jobKey, address indexed provider, uint256 cumulativeAmount, uint256 paid);
    event JobFinalized(bytes32 indexed jobKey, bytes32 resultRoot, uint256 paidTotal, uint256 released);
    event JobRefunded(bytes32 indexed jobKey, uint256 refunded);
    event Deposited(address indexed requester, uint256 amount, uint256 free);
    event Withdrawn(address indexed requester, uint256 amount, uint256 free);

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
    error InsufficientBalance(uint256 free, uint256 needed);
    error AlreadySettled(bytes32 jobKey);
    error ProvidersNotAscending(address provider);

    constructor(IERC20 token_) EIP712("ConunJobEscrow", "2") {
        token = token_;
    }

    /// The key a requester's job id has in this escrow.
    function jobKey(address requester, bytes32 jobId) public pure returns (bytes32) {
        return keccak256(abi.encode(requester, jobId));
    }

    /// A job as one record, as version 2 stored it (the zero address: no such job).
    function jobs(bytes32 key)
        external
        view
        returns (address requester, uint96 budget, uint96 reserved, uint96 paid, uint40 deadline, bool finalized, bool closed)
    {
        Job memory job = _jobs[key];
        paid = uint96(job.flags & SETTLED != 0 ? job.budget : _paid[key]);
        return (accountOwner[job.account], job.budget, job.reserved, paid, job.deadline, job.flags & FINALIZED != 0, job.flags & CLOSED != 0);
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

    /// Sends `amount` of the caller's standing balance back to it; what open jobs hold is not part of it.
    function withdraw(uint96 amount) external nonReentrant {
        Account storage account = accounts[msg.sender];
        uint96 free = account.free;
        if (amount > free) revert InsufficientBalance(free, amount);
        account.free = free - amount;
        emit Withdrawn(msg.sender, amount, free - amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// Opens the caller's job `jobId` with `budget` taken from its standing balance: no token moves.
    function openJobFromBalance(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline) external returns (bytes32 key) {
        Account memory account = accounts[msg.sender];
        if (budget > account.free) revert InsufficientBalance(account.free, budget);
        account.free -= budget;
        key = _record(account, jobId, specHash, budget, deadline, FROM_BALANCE);
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
        Job memory job = _requesterJob(key);
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
        _jobs[key].reserved = uint88(reserved);
    }

    /// Pays `provider` what a receipt signed by the job's requester says it is owed, up to its
    /// reservation, minus what it was already paid. Anyone may submit it; the tokens always go to
    /// `provider`. It works until the job is refunded, so also after the final settlement.
    function claim(bytes32 key, address provider, uint256 cumulativeAmount, bytes calldata signature)
        external
        nonReentrant
    {
        Job memory job = _liveJob(key);
        // Every reservation is paid, so nothing is left to claim (and the shares were not written).
        if (job.flags & SETTLED != 0) revert AlreadySettled(key);
        address signer = ECDSA.recover(_receiptDigest(key, provider, cumulativeAmount), signature);
        if (signer != accountOwner[job.account]) revert BadReceiptSigner(signer);
        Share storage share = shares[key][provider];
        (uint96 reserved, uint96 claimed) = (share.reserved, share.claimed);
        if (cumulativeAmount <= claimed) revert ReceiptNotNewer(cumulativeAmount, claimed);
        // What a receipt says beyond the reservation is the requester's word only: it waits for a
        // larger reservation or the final settlement.
        uint96 covered = cumulativeAmount < reserved ? uint96(cumulativeAmount) : reserved;
        if (covered <= claimed) revert NotReserved(cumulativeAmount, reserved);
        uint96 due = covered - claimed;
        share.claimed = covered;
        _paid[key] += due;
        if (job.flags & CLAIMED == 0) _jobs[key].flags = job.flags | CLAIMED;
        emit Claimed(key, provider, covered, due);
        token.safeTransfer(provider, due);
    }

    /// The requester closes the job: records the Merkle root of the accepted results, pays each
    /// listed provider (in ascending address order, each once) up to its final cumulative amount
    /// (the requester's own word needs no signature; a reservation below it is raised from the
    /// unreserved budget) and takes back what nobody has reserved. What is reserved and unpaid
    /// stays claimable by receipt for CLAIM_GRACE.
    function finalize(bytes32 key, bytes32 resultRoot, address[] calldata providers, uint96[] calldata amounts)
        external
        nonReentrant
    {
        Job memory job = _requesterJob(key);
        if (providers.length != amounts.length) revert LengthMismatch();
        (Payout[] memory payouts, uint256 reserved, uint256 paid) = _settlement(key, job, providers, amounts);
        if (reserved > job.budget) revert OverBudget(reserved, job.budget);
        uint256 released = job.budget - reserved;
        (job.budget, job.reserved, job.deadline) = (uint88(reserved), uint88(reserved), uint40(block.timestamp));
        if (paid == reserved) {
            // Every reservation is paid, so no claim can pay more: what the job paid is its budget
            // from now on, claims are refused, and neither the shares nor the separate total need
            // writing (the total is cleared, a gas refund).
            job.flags |= FINALIZED | SETTLED;
            if (job.flags & CLAIMED != 0) delete _paid[key];
        } else {
            job.flags |= FINALIZED;
            _paid[key] = paid;
            for (uint256 i = 0; i < providers.length; i++) {
                if (payouts[i].due > 0) shares[key][providers[i]] = payouts[i].share;
            }
        }
        _jobs[key] = job;
        emit JobFinalized(key, resultRoot, paid, released);
        for (uint256 i = 0; i < providers.length; i++) {
            Payout memory payout = payouts[i];
            if (payout.due == 0) continue;
            emit Claimed(key, providers[i], payout.share.claimed, payout.due);
            token.safeTransfer(providers[i], payout.due);
        }
        _giveBack(job, msg.sender, released);
    }

    /// CLAIM_GRACE after the deadline (or after the final settlement), returns whatever is unpaid to the requester.
    function refund(bytes32 key) external nonReentrant {
        Job memory job = _liveJob(key);
        uint256 availableAt = uint256(job.deadline) + CLAIM_GRACE;
        if (block.timestamp < availableAt) revert RefundTooEarly(availableAt);
        uint256 refunded = job.flags & SETTLED != 0 ? 0 : job.budget - _paid[key];
        _jobs[key].flags = job.flags | CLOSED;
        emit JobRefunded(key, refunded);
        _giveBack(job, accountOwner[job.account], refunded);
    }

    /// The EIP-712 digest a requester signs for a receipt (for clients and tests).
    function receiptDigest(bytes32 key, address provider, uint256 cumulativeAmount) external view returns (bytes32) {
        return _receiptDigest(key, provider, cumulativeAmount);
    }

    function _receiptDigest(bytes32 key, address provider, uint256 cumulativeAmount) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, key, provider, cumulativeAmount)));
    }

    function _open(bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline) private returns (bytes32 key) {
        key = _record(accounts[msg.sender], jobId, specHash, budget, deadline, 0);
        token.safeTransferFrom(msg.sender, address(this), budget);
    }

    /// Records the caller's new job and stores `account` (its balance already less what the job takes from it).
    function _record(Account memory account, bytes32 jobId, bytes32 specHash, uint96 budget, uint40 deadline, uint8 flags)
        private
        returns (bytes32 key)
    {
        key = jobKey(msg.sender, jobId);
        if (_jobs[key].account != 0) revert JobExists(key);
        if (budget == 0 || budget > type(uint88).max) revert BadBudget();
        if (deadline <= block.timestamp) revert BadDeadline();
        _number(account);
        accounts[msg.sender] = account;
        _jobs[key] = Job({account: account.number, budget: uint88(budget), reserved: 0, deadline: deadline, flags: flags});
        emit JobOpened(key, msg.sender, jobId, specHash, budget, deadline);
    }

    function _deposit(uint96 amount) private {
        Account memory account = accounts[msg.sender];
        _number(account);
        account.free += amount;
        accounts[msg.sender] = account;
        emit Deposited(msg.sender, amount, account.free);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// Gives the caller's account its number on first use (the caller stores `account`).
    function _number(Account memory account) private {
        if (account.number != 0) return;
        account.number = ++accountCount;
        accountOwner[account.number] = msg.sender;
    }

    /// What a job no longer holds goes back where it came from: the standing balance or the requester's wallet.
    function _giveBack(Job memory job, address requester, uint256 amount) private {
        if (amount == 0) return;
        if (job.flags & FROM_BALANCE != 0) {
            accounts[requester].free += uint96(amount);
        } else {
            token.safeTransfer(requester, amount);
        }
    }

    /// Each listed share as the settlement leaves it (its reservation raised to its final amount,
    /// that amount paid) with what it is due now; the job's reservations and payments together after.
    function _settlement(bytes32 key, Job memory job, address[] calldata providers, uint96[] calldata amounts)
        private
        view
        returns (Payout[] memory payouts, uint256 reserved, uint256 paid)
    {
        (reserved, paid) = (job.reserved, job.flags & CLAIMED != 0 ? _paid[key] : 0);
        // Before the first reservation every share is empty (a claim needs one): nothing to read.
        bool anyShare = reserved != 0;
        payouts = new Payout[](providers.length);
        for (uint256 i = 0; i < providers.length; i++) {
            // Ascending, so a provider listed twice is refused instead of paid twice from one share.
            if (i > 0 && providers[i] <= providers[i - 1]) revert ProvidersNotAscending(providers[i]);
            Payout memory payout = payouts[i];
            if (anyShare) payout.share = shares[key][providers[i]];
            if (amounts[i] <= payout.share.claimed) continue;
            if (amounts[i] > payout.share.reserved) (reserved, payout.share.reserved) = (reserved + amounts[i] - payout.share.reserved, amounts[i]);
            payout.due = amounts[i] - payout.share.claimed;
            paid += payout.due;
            payout.share.claimed = amounts[i];
        }
    }

    function _liveJob(bytes32 key) private view returns (Job memory job) {
        job = _jobs[key];
        if (job.account == 0) revert UnknownJob(key);
        if (job.flags & CLOSED != 0) revert JobClosed(key);
    }

    /// A job its requester may still reserve for or settle.
    function _requesterJob(bytes32 key) private view returns (Job memory job) {
        job = _liveJob(key);
        // By the caller's account, whose slot a settlement credits anyway: no separate read of the owner.
        if (accounts[msg.sender].number != job.account) revert NotRequester(msg.sender);
        if (job.flags & FINALIZED != 0) revert AlreadyFinalized(key);
    }
}
