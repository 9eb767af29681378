// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRandomnessSource
/// @notice Randomness fixed only after the request for it, so a party that commits first cannot know
/// the outcome (sampling decisions, second-operator and committee draws). Implementations: future block
/// hashes (BlockhashRandomness); a VRF can replace it behind the same interface.
interface IRandomnessSource {
    /// @notice Emitted when randomness is requested for `key`.
    event RandomnessRequested(bytes32 indexed key, address indexed requester, uint64 readyAtBlock);

    /// @notice Randomness for `key` was already requested by this caller.
    error RandomnessAlreadyRequested(bytes32 key);
    /// @notice Randomness for `key` was never requested by this caller.
    error RandomnessNotRequested(bytes32 key);
    /// @notice Randomness for `key` is not available yet.
    error RandomnessNotReady(bytes32 key, uint64 readyAtBlock, uint256 currentBlock);
    /// @notice Randomness for `key` can no longer be read (block hashes older than 256 blocks are gone).
    error RandomnessExpired(bytes32 key, uint64 readyAtBlock, uint256 currentBlock);

    /// @notice Requests randomness for `key`, namespaced by the caller.
    /// @return readyAtBlock The first block at which `randomness` can be read.
    function request(bytes32 key) external returns (uint64 readyAtBlock);

    /// @notice Whether the caller's randomness for `key` can be read now.
    function isReady(address requester, bytes32 key) external view returns (bool);

    /// @notice Whether the randomness for `key` can never be read (the requester should request again).
    function isExpired(address requester, bytes32 key) external view returns (bool);

    /// @notice The randomness of `requester` for `key`; reverts when not ready or expired.
    function randomness(address requester, bytes32 key) external view returns (uint256);
}
