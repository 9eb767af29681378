// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {console} from "hardhat/console.sol";

contract Counter {
    uint256 public x;
    uint256 public calls;
    uint256 public views;
    function inc(uint256 a) external { calls++; x += a % 10 + 1; }
    function other(uint256 a) external { calls++; views += a % 3 + 1; }
}

contract ProbeTest {
    struct FuzzSelector { address addr; bytes4[] selectors; }
    Counter c;
    uint256 public afterRuns;

    function setUp() public {
        c = new Counter();
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(c);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory s) {
        s = new FuzzSelector[](1);
        bytes4[] memory sel = new bytes4[](1);
        sel[0] = Counter.other.selector;
        s[0] = FuzzSelector(address(c), sel);
    }

    function invariant_probe() public view {
        require(c.x() == 0, "inc was called");
    }

    function afterInvariant() public view {
        console.log("afterInvariant calls", c.calls());
        require(c.calls() < 20, "afterInvariant ran and failed");
    }
}
