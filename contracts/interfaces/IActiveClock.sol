// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IActiveClock
/// @notice The clock that every deadline able to slash someone is measured on: seconds of unpaused
/// operation of the market. It equals block.timestamp minus the total time the market has been paused,
/// and stands still while the market is paused, so a pause never runs anyone out of time. Off-chain code
/// compares deadlines with `activeTime()`, not with block timestamps.
interface IActiveClock {
    /// @notice Seconds of unpaused operation (block.timestamp minus all paused time; frozen while paused).
    function activeTime() external view returns (uint64);
}
