// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Vm
/// @notice The few Foundry cheatcodes these tests use. Hardhat 3 runs Solidity tests on EDR, which
/// implements Foundry's cheatcodes at the same well-known address, so only the declarations are needed
/// (forge-std itself is not used: its npm package layout does not resolve under Hardhat 3).
interface Vm {
    /// @notice Sets msg.sender for the next call only.
    function prank(address sender) external;

    /// @notice Sets msg.sender for every call until `stopPrank`.
    function startPrank(address sender) external;

    function stopPrank() external;

    /// @notice Sets the ETH balance of `account`.
    function deal(address account, uint256 newBalance) external;

    /// @notice Sets block.timestamp.
    function warp(uint256 timestamp) external;

    /// @notice The next call must revert with exactly this custom error selector (no arguments).
    function expectRevert(bytes4 revertData) external;

    /// @notice The next call must revert with exactly this data (selector and encoded arguments).
    function expectRevert(bytes calldata revertData) external;

    /// @notice Discards the current fuzz input when `condition` is false.
    function assume(bool condition) external pure;
}

/// @title TestBase
/// @notice What both test contracts and invariant handlers need: the cheatcode handle and `bound`.
abstract contract TestBase {
    /// @dev address(uint160(uint256(keccak256("hevm cheat code"))))
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @notice Maps any `x` into [min, max] (inclusive), keeping `x` unchanged when it is already
    /// inside, so the fuzzer's edge values (0, 1, max) still reach the edges of the range.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }
}

/// @title Test
/// @notice Minimal stand-in for forge-std's Test: assertions (failing by revert, which EDR reports as a
/// test failure with the message) and the invariant target-selection hooks that EDR reads the way
/// Foundry does.
///
/// How EDR treats a test contract (same conventions as Foundry):
///  - `setUp()` runs before every test; `test*` functions are tests; those with parameters are fuzzed.
///  - `invariant*` functions are invariant tests: EDR calls random target functions (`depth` calls per
///    run, `runs` runs, each run starting from the post-`setUp` state) and calls the invariant after
///    every call. `afterInvariant()`, if present, runs at the end of each run.
///  - Targets: by default every contract deployed in `setUp`. When the test contract has a view
///    `targetContracts() returns (address[])` returning a non-empty list, only those contracts are
///    called; `targetSelectors() returns (FuzzSelector[])` further narrows a target to some functions.
abstract contract Test is TestBase {
    /// @notice Same layout as forge-std's StdInvariant.FuzzSelector (EDR decodes it by ABI shape).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    // ------------------------------------------------------------------ invariant targets

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    /// @notice Read by EDR before an invariant campaign.
    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    /// @notice Read by EDR before an invariant campaign.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    // ------------------------------------------------------------------ assertions

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) revert(message);
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) revert(message);
    }

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left != right) _fail(message, left, " != ", right);
    }

    function assertEq(address left, address right, string memory message) internal pure {
        if (left != right) _fail(message, uint256(uint160(left)), " != ", uint256(uint160(right)));
    }

    function assertEq(bytes32 left, bytes32 right, string memory message) internal pure {
        if (left != right) _fail(message, uint256(left), " != ", uint256(right));
    }

    function assertEq(bool left, bool right, string memory message) internal pure {
        if (left != right) revert(string.concat(message, left ? ": true != false" : ": false != true"));
    }

    function assertEq(bytes memory left, bytes memory right, string memory message) internal pure {
        if (keccak256(left) != keccak256(right)) revert(string.concat(message, ": bytes differ"));
    }

    function assertLe(uint256 left, uint256 right, string memory message) internal pure {
        if (left > right) _fail(message, left, " > ", right);
    }

    function assertGe(uint256 left, uint256 right, string memory message) internal pure {
        if (left < right) _fail(message, left, " < ", right);
    }

    function assertGt(uint256 left, uint256 right, string memory message) internal pure {
        if (left <= right) _fail(message, left, " <= ", right);
    }

    function _fail(string memory message, uint256 left, string memory op, uint256 right) private pure {
        revert(string.concat(message, ": ", _toString(left), op, _toString(right)));
    }

    function _toString(uint256 value) private pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) ++digits;
        bytes memory buffer = new bytes(digits);
        for (; value != 0; value /= 10) buffer[--digits] = bytes1(uint8(48 + (value % 10)));
        return string(buffer);
    }
}
