// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVrfConsumer, IVrfCoordinator} from "../interfaces/IVrfCoordinator.sol";

/// @title MockVrfCoordinator
/// @notice Test-only coordinator: records requests and fulfils them with the word a test chooses.
contract MockVrfCoordinator is IVrfCoordinator {
    struct Recorded {
        address consumer;
        RandomWordsRequest req;
    }

    event RandomWordsRequested(uint256 indexed requestId, address indexed consumer, bytes32 keyHash, uint256 subId);

    uint256 private _lastId;
    mapping(uint256 requestId => Recorded) private _requests;

    /// @inheritdoc IVrfCoordinator
    function requestRandomWords(RandomWordsRequest calldata req) external returns (uint256 requestId) {
        requestId = ++_lastId;
        _requests[requestId] = Recorded({consumer: msg.sender, req: req});
        emit RandomWordsRequested(requestId, msg.sender, req.keyHash, req.subId);
    }

    /// @notice Calls the consumer back with `word` as the single random word.
    function fulfill(uint256 requestId, uint256 word) external {
        uint256[] memory words = new uint256[](1);
        words[0] = word;
        IVrfConsumer(_requests[requestId].consumer).rawFulfillRandomWords(requestId, words);
    }

    /// @notice The last request id issued.
    function lastRequestId() external view returns (uint256) {
        return _lastId;
    }

    /// @notice A recorded request.
    function requestOf(uint256 requestId) external view returns (Recorded memory) {
        return _requests[requestId];
    }
}
