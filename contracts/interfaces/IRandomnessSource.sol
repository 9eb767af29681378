// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRandomnessSource
/// @notice Randomness fixed only after the request for it, so a party that commits first cannot know
/// the outcome (sampling decisions, second-operator and committee draws). Requests are namespaced by the
/// requesting contract. Implementations: RandaoRandomness (the beacon chain's RANDAO mixes of several
/// future blocks, the default) and VrfRandomness (a Chainlink-VRF-style coordinator); their trust models
/// are in docs/SAMPLING.md. A request that can no longer be served reports `isExpired`; the requester then
/// requests again under a new key (and treats the expiry as its protocol says, never as a free re-roll).
interface IRandomnessSource {
    /// @notice Emitted when randomness is requested for `key`.
    event RandomnessRequested(bytes32 indexed key, address indexed requester, uint64 readyAtBlock);
    /// @notice Emitted when the randomness of `key` becomes readable.
    event RandomnessFulfilled(bytes32 indexed key, address indexed requester, uint256 value);

    /// @notice Randomness for `key` was already requested by this caller.
    error RandomnessAlreadyRequested(bytes32 key);
    /// @notice Randomness for `key` was never requested by this caller.
    error RandomnessNotRequested(bytes32 key);
    /// @notice Randomness for `key` is not available yet.
    error RandomnessNotReady(bytes32 key, uint64 readyAtBlock, uint256 currentBlock);
    /// @notice Randomness for `key` can no longer be produced.
    error RandomnessExpired(bytes32 key, uint64 readyAtBlock, uint256 currentBlock);
    /// @notice Randomness for `key` is already fulfilled.
    error RandomnessAlreadyFulfilled(bytes32 key);
    /// @notice The caller may not request randomness from this source.
    error RandomnessUnauthorisedRequester(address requester);

    /// @notice Requests randomness for `key`, namespaced by the caller.
    /// @return readyAtBlock The first block at which the randomness can be produced.
    function request(bytes32 key) external returns (uint64 readyAtBlock);

    /// @notice Whether the randomness of `requester` for `key` can be read now.
    function isReady(address requester, bytes32 key) external view returns (bool);

    /// @notice Whether the randomness for `key` can never be produced (the requester should request again).
    function isExpired(address requester, bytes32 key) external view returns (bool);

    /// @notice The randomness of `requester` for `key`; reverts when not ready.
    function randomness(address requester, bytes32 key) external view returns (uint256);
}
