// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

interface IJobEscrow {
    function claim(address requester, address provider, uint256 cumulativeAmount, bytes calldata signature) external;
    function release(address provider) external;
}

/// Test-only hostile token: on every transfer out of the escrow it calls back into the escrow,
/// replaying the claim (or settlement) being paid, to try to be paid twice.
contract ReentrantToken is ERC20 {
    address public escrow;
    bytes public reentry;
    bool public reentered;
    bool public reentrySucceeded;

    constructor(address holder, uint256 supply) ERC20("Evil", "EVIL") {
        _mint(holder, supply);
    }

    function arm(address escrow_, bytes calldata reentry_) external {
        escrow = escrow_;
        reentry = reentry_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from == escrow && escrow != address(0) && !reentered) {
            reentered = true;
            (bool ok,) = escrow.call(reentry);
            reentrySucceeded = ok;
        }
    }
}
