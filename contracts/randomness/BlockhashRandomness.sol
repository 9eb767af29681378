// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title BlockhashRandomness
/// @notice Randomness from the hash of a block mined after the request: `keccak256(blockhash(target),
/// requester, key)` with `target = request block + delay`. Nobody, including the requester, knows it at
/// request time.
/// @dev Bias: the proposer of the target block can withhold it (giving up its block reward) to re-roll
/// once, and on PoS chains the RANDAO beacon is known about one epoch ahead to the proposers of that
/// epoch. That is acceptable where the value at stake per draw is far below a block reward; deployments
/// that need more plug a VRF in behind IRandomnessSource. Block hashes older than 256 blocks are
/// unavailable, so a reading must happen within that window (`isExpired` tells when to request again).
contract BlockhashRandomness is IRandomnessSource {
    uint64 private immutable _delay;
    mapping(address requester => mapping(bytes32 key => uint64 readyAtBlock)) private _targets;

    constructor(uint64 delayBlocks) {
        _delay = delayBlocks == 0 ? 1 : delayBlocks;
    }

    /// @inheritdoc IRandomnessSource
    function request(bytes32 key) external returns (uint64 readyAtBlock) {
        if (_targets[msg.sender][key] != 0) revert RandomnessAlreadyRequested(key);
        readyAtBlock = uint64(block.number) + _delay;
        _targets[msg.sender][key] = readyAtBlock;
        emit RandomnessRequested(key, msg.sender, readyAtBlock);
    }

    /// @inheritdoc IRandomnessSource
    function isReady(address requester, bytes32 key) public view returns (bool) {
        uint64 target = _targets[requester][key];
        // The target block's hash exists once a later block is being built.
        return target != 0 && block.number > target && block.number - target <= 256;
    }

    /// @inheritdoc IRandomnessSource
    function isExpired(address requester, bytes32 key) external view returns (bool) {
        uint64 target = _targets[requester][key];
        return target != 0 && block.number > target + 256;
    }

    /// @inheritdoc IRandomnessSource
    function randomness(address requester, bytes32 key) external view returns (uint256) {
        uint64 target = _targets[requester][key];
        if (target == 0) revert RandomnessNotRequested(key);
        if (block.number <= target) revert RandomnessNotReady(key, target, block.number);
        if (block.number - target > 256) revert RandomnessExpired(key, target, block.number);
        return uint256(keccak256(abi.encode(blockhash(target), requester, key)));
    }

    /// @notice Blocks between a request and its target block.
    function delay() external view returns (uint64) {
        return _delay;
    }
}
