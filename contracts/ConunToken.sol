// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title CON, the token conun's providers are paid in.
/// @notice A plain ERC-20 with EIP-2612 permit, so a requester can open an escrow in one transaction.
/// The whole supply is minted once, at deployment; nobody can mint more.
contract ConunToken is ERC20, ERC20Permit {
    constructor(address holder, uint256 supply) ERC20("Conun", "CON") ERC20Permit("Conun") {
        _mint(holder, supply);
    }
}
