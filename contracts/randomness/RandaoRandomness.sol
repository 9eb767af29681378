// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandaoRandomness} from "../interfaces/IRandaoRandomness.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";

/// @title RandaoRandomness
/// @notice The default IRandomnessSource: RANDAO mixes of several future blocks, delivered by anyone with
/// the block headers (see IRandaoRandomness for the trust model).
contract RandaoRandomness is IRandaoRandomness {
    /// @dev Block hashes older than this many blocks are not available to the EVM.
    uint256 private constant _HASH_WINDOW = 256;
    /// @dev Index of mixHash (prevrandao) in the RLP list of a post-merge block header.
    uint256 private constant _MIX_HASH_FIELD = 13;

    struct Entry {
        uint64 target;
        bool fulfilled;
        uint256 value;
    }

    /// @inheritdoc IRandaoRandomness
    uint64 public constant MIN_DELAY_BLOCKS = 2;

    uint64 private immutable _delay;
    uint8 private immutable _blocks;
    mapping(address requester => mapping(bytes32 key => Entry)) private _entries;

    constructor(uint64 delayBlocks, uint8 mixedBlocks) {
        // INVARIANT: the proposer of the block that includes a request does not know its value. A request in block N
        // first mixes block N + d's prevrandao, the mix after block N + d - 1: with d = 1 block N's own proposer
        // fixes it, and could include (say) a commitment only when it will not be sampled.
        if (delayBlocks < MIN_DELAY_BLOCKS) revert RandaoRandomnessDelayTooShort(delayBlocks, MIN_DELAY_BLOCKS);
        _delay = delayBlocks;
        _blocks = mixedBlocks == 0 ? 1 : mixedBlocks;
    }

    /// @inheritdoc IRandaoRandomness
    function fulfil(address requester, bytes32 key, bytes[] calldata headers) external {
        Entry storage e = _entries[requester][key];
        uint64 target = e.target;
        if (target == 0) revert RandomnessNotRequested(key);
        if (e.fulfilled) revert RandomnessAlreadyFulfilled(key);
        if (headers.length != _blocks) revert RandaoRandomnessHeaderCount(headers.length, _blocks);
        uint64 readyAt = target + _blocks;
        if (block.number < readyAt) revert RandomnessNotReady(key, readyAt, block.number);
        if (block.number - target > _HASH_WINDOW) revert RandomnessExpired(key, readyAt, block.number);
        bytes32 acc = keccak256(abi.encode(requester, key));
        for (uint256 i = 0; i < headers.length; ++i) {
            uint256 number = target + i;
            // INVARIANT: every mixed value is the chain's own prevrandao of block `number`.
            if (keccak256(headers[i]) != blockhash(number)) revert RandaoRandomnessBadHeader(number);
            acc = keccak256(abi.encode(acc, _mixHash(headers[i], number)));
        }
        e.fulfilled = true;
        e.value = uint256(acc);
        emit RandomnessFulfilled(key, requester, uint256(acc));
    }

    /// @inheritdoc IRandomnessSource
    function request(bytes32 key) external returns (uint64 readyAtBlock) {
        Entry storage e = _entries[msg.sender][key];
        if (e.target != 0) revert RandomnessAlreadyRequested(key);
        uint64 target = uint64(block.number) + _delay;
        e.target = target;
        readyAtBlock = target + _blocks;
        emit RandomnessRequested(key, msg.sender, readyAtBlock);
    }

    /// @inheritdoc IRandomnessSource
    function isReady(address requester, bytes32 key) external view returns (bool) {
        return _entries[requester][key].fulfilled;
    }

    /// @inheritdoc IRandomnessSource
    function isExpired(address requester, bytes32 key) external view returns (bool) {
        Entry storage e = _entries[requester][key];
        return e.target != 0 && !e.fulfilled && block.number > uint256(e.target) + _HASH_WINDOW;
    }

    /// @inheritdoc IRandomnessSource
    function randomness(address requester, bytes32 key) external view returns (uint256) {
        Entry storage e = _entries[requester][key];
        if (e.target == 0) revert RandomnessNotRequested(key);
        if (!e.fulfilled) revert RandomnessNotReady(key, e.target + _blocks, block.number);
        return e.value;
    }

    /// @inheritdoc IRandaoRandomness
    function targetBlock(address requester, bytes32 key) external view returns (uint64) {
        return _entries[requester][key].target;
    }

    /// @inheritdoc IRandaoRandomness
    function delay() external view returns (uint64) {
        return _delay;
    }

    /// @inheritdoc IRandaoRandomness
    function blocks() external view returns (uint8) {
        return _blocks;
    }

    /// @dev mixHash of an RLP block header: the 32-byte string at list index 13.
    function _mixHash(bytes calldata header, uint256 number) private pure returns (bytes32 mix) {
        uint256 p;
        uint8 b0 = uint8(header[0]);
        if (b0 >= 0xf8) p = 1 + (b0 - 0xf7);
        else if (b0 >= 0xc0) p = 1;
        else revert RandaoRandomnessBadHeader(number);
        for (uint256 i = 0; i < _MIX_HASH_FIELD; ++i) p = _skipItem(header, p);
        if (uint8(header[p]) != 0xa0) revert RandaoRandomnessBadHeader(number);
        mix = bytes32(header[p + 1:p + 33]);
    }

    /// @dev Offset just past the RLP item at `p` (strings and lists, short and long forms).
    function _skipItem(bytes calldata data, uint256 p) private pure returns (uint256) {
        uint8 b = uint8(data[p]);
        if (b < 0x80) return p + 1;
        if (b <= 0xb7) return p + 1 + (b - 0x80);
        if (b <= 0xbf) return p + 1 + (b - 0xb7) + _beUint(data, p + 1, b - 0xb7);
        if (b <= 0xf7) return p + 1 + (b - 0xc0);
        return p + 1 + (b - 0xf7) + _beUint(data, p + 1, b - 0xf7);
    }

    function _beUint(bytes calldata data, uint256 p, uint256 n) private pure returns (uint256 v) {
        for (uint256 i = 0; i < n; ++i) v = (v << 8) | uint8(data[p + i]);
    }
}
