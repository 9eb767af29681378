// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IRandomnessSource} from "./IRandomnessSource.sol";

/// @title IRandaoRandomness
/// @notice Randomness from the beacon chain's RANDAO: the `prevrandao` (header field mixHash) of `blocks`
/// consecutive blocks starting `delay` blocks after the request, mixed with the requester and key. The
/// EVM only exposes the current block's prevrandao, so anyone delivers the values afterwards by passing
/// the RLP block headers (`fulfil`); each header is checked against `blockhash`, so the value is fixed by
/// the chain and nobody chooses it. A block builder cannot grind mixHash (it is the proposer's RANDAO
/// reveal, not block content); a proposer of one of those blocks can at most withhold its block, one bit of
/// influence per block at the price of its block reward. Headers must be delivered while the blocks are
/// among the last 256 (`isExpired` afterwards).
interface IRandaoRandomness is IRandomnessSource {
    /// @notice A header does not hash to the block hash of its block, or is not a block header.
    error RandaoRandomnessBadHeader(uint256 blockNumber);
    /// @notice The number of headers is not `blocks()`.
    error RandaoRandomnessHeaderCount(uint256 given, uint256 expected);
    /// @notice A delay under MIN_DELAY_BLOCKS: the proposer of the requesting block would know the value.
    error RandaoRandomnessDelayTooShort(uint64 delayBlocks, uint64 minimum);

    /// @notice The least delay: a request in block N first mixes block N + delay's prevrandao, which is the RANDAO
    /// mix after block N + delay - 1, so the proposers who can influence a value are those of blocks
    /// N + delay - 1 ... N + delay + blocks - 2, never block N's.
    function MIN_DELAY_BLOCKS() external view returns (uint64);

    /// @notice Delivers the randomness of `requester` for `key`: the RLP headers of its `blocks()` blocks, in order.
    function fulfil(address requester, bytes32 key, bytes[] calldata headers) external;

    /// @notice First block whose prevrandao a request mixes in (0 when not requested).
    function targetBlock(address requester, bytes32 key) external view returns (uint64);

    /// @notice Blocks between a request and its first mixed block.
    function delay() external view returns (uint64);

    /// @notice Consecutive blocks mixed per request.
    function blocks() external view returns (uint8);
}
