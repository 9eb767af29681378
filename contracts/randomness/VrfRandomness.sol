// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";
import {IVrfConsumer, IVrfCoordinator} from "../interfaces/IVrfCoordinator.sol";

/// @title VrfRandomness
/// @notice IRandomnessSource backed by a VRF coordinator (Chainlink VRF v2.5 style request/fulfil). The
/// value is the oracle's proven random word mixed with the requester and key; trust moves from block
/// proposers to the oracle network (which cannot choose the word, only withhold it). Requests cost the
/// subscription, so only contracts governance allows may request. A request the coordinator has not
/// answered within `timeoutBlocks` reports `isExpired` (and a late answer is ignored).
contract VrfRandomness is IRandomnessSource, IVrfConsumer, Ownable2Step {
    struct Entry {
        uint64 requestedAt;
        bool fulfilled;
        uint256 value;
    }

    struct Pending {
        address requester;
        bytes32 key;
    }

    /// @notice Emitted when governance allows or stops a requester.
    event RequesterAllowed(address indexed requester, bool allowed);
    /// @notice The caller of rawFulfillRandomWords is not the coordinator.
    error VrfRandomnessOnlyCoordinator(address caller);
    /// @notice A zero address or zero timeout at deployment.
    error VrfRandomnessBadParameters();

    IVrfCoordinator private immutable _coordinator;
    bytes32 private immutable _keyHash;
    uint256 private immutable _subId;
    uint16 private immutable _confirmations;
    uint32 private immutable _callbackGasLimit;
    uint64 private immutable _timeoutBlocks;

    mapping(address requester => bool) private _allowed;
    mapping(address requester => mapping(bytes32 key => Entry)) private _entries;
    mapping(uint256 requestId => Pending) private _pending;

    constructor(
        address initialOwner,
        IVrfCoordinator coordinator_,
        bytes32 keyHash_,
        uint256 subId_,
        uint16 confirmations_,
        uint32 callbackGasLimit_,
        uint64 timeoutBlocks_
    ) Ownable(initialOwner) {
        if (address(coordinator_) == address(0) || timeoutBlocks_ == 0) revert VrfRandomnessBadParameters();
        _coordinator = coordinator_;
        _keyHash = keyHash_;
        _subId = subId_;
        _confirmations = confirmations_;
        _callbackGasLimit = callbackGasLimit_;
        _timeoutBlocks = timeoutBlocks_;
    }

    /// @notice Governance: allows or stops a contract (a verification module or arbitrator) to request.
    function setRequesterAllowed(address requester, bool allowed) external onlyOwner {
        _allowed[requester] = allowed;
        emit RequesterAllowed(requester, allowed);
    }

    /// @inheritdoc IRandomnessSource
    function request(bytes32 key) external returns (uint64 readyAtBlock) {
        if (!_allowed[msg.sender]) revert RandomnessUnauthorisedRequester(msg.sender);
        Entry storage e = _entries[msg.sender][key];
        if (e.requestedAt != 0) revert RandomnessAlreadyRequested(key);
        e.requestedAt = uint64(block.number);
        uint256 requestId = _coordinator.requestRandomWords(
            IVrfCoordinator.RandomWordsRequest({
                keyHash: _keyHash,
                subId: _subId,
                requestConfirmations: _confirmations,
                callbackGasLimit: _callbackGasLimit,
                numWords: 1,
                extraArgs: ""
            })
        );
        _pending[requestId] = Pending({requester: msg.sender, key: key});
        readyAtBlock = uint64(block.number) + _confirmations;
        emit RandomnessRequested(key, msg.sender, readyAtBlock);
    }

    /// @inheritdoc IVrfConsumer
    function rawFulfillRandomWords(uint256 requestId, uint256[] calldata randomWords) external {
        if (msg.sender != address(_coordinator)) revert VrfRandomnessOnlyCoordinator(msg.sender);
        Pending memory p = _pending[requestId];
        Entry storage e = _entries[p.requester][p.key];
        // Unknown, answered or expired requests are ignored (a coordinator callback must not revert).
        if (p.requester == address(0) || e.fulfilled || randomWords.length == 0) return;
        if (block.number > uint256(e.requestedAt) + _timeoutBlocks) return;
        delete _pending[requestId];
        e.fulfilled = true;
        e.value = uint256(keccak256(abi.encode(randomWords[0], p.requester, p.key)));
        emit RandomnessFulfilled(p.key, p.requester, e.value);
    }

    /// @inheritdoc IRandomnessSource
    function isReady(address requester, bytes32 key) external view returns (bool) {
        return _entries[requester][key].fulfilled;
    }

    /// @inheritdoc IRandomnessSource
    function isExpired(address requester, bytes32 key) external view returns (bool) {
        Entry storage e = _entries[requester][key];
        return e.requestedAt != 0 && !e.fulfilled && block.number > uint256(e.requestedAt) + _timeoutBlocks;
    }

    /// @inheritdoc IRandomnessSource
    function randomness(address requester, bytes32 key) external view returns (uint256) {
        Entry storage e = _entries[requester][key];
        if (e.requestedAt == 0) revert RandomnessNotRequested(key);
        if (!e.fulfilled) revert RandomnessNotReady(key, e.requestedAt + _confirmations, block.number);
        return e.value;
    }

    /// @notice Whether `requester` may request randomness.
    function isRequesterAllowed(address requester) external view returns (bool) {
        return _allowed[requester];
    }

    /// @notice The coordinator this source asks.
    function coordinator() external view returns (IVrfCoordinator) {
        return _coordinator;
    }
}
