// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Modes
/// @notice Well-known verification mode ids. A mode id is a slot in the ModelRegistry that governance
/// points at a verification module; these constants are the slots the veriml deployment uses.
library Modes {
    uint8 internal constant ZK = 0;
    uint8 internal constant OPTIMISTIC = 1;
    uint8 internal constant SAMPLING = 2;
    uint8 internal constant QUALITY = 3;

    /// @dev Modes are bits of a uint8 mask, so at most eight can exist.
    uint8 internal constant MAX_MODES = 8;

    function bit(uint8 mode) internal pure returns (uint8) {
        return uint8(1) << mode;
    }
}
