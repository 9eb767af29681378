// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IVrfCoordinator
/// @notice The request side of a VRF coordinator in the style of Chainlink VRF v2.5: a consumer asks for
/// random words and the coordinator later calls the consumer's `rawFulfillRandomWords` with them, after
/// checking the oracle's VRF proof. (Function shapes as documented for VRF v2.5; no Chainlink code.)
interface IVrfCoordinator {
    /// @notice A request for random words.
    /// @param keyHash Which oracle key (and gas lane) proves the randomness.
    /// @param subId Subscription paying for the request.
    /// @param requestConfirmations Blocks the coordinator waits before fulfilling.
    /// @param callbackGasLimit Gas for the consumer's callback.
    /// @param numWords Random words wanted.
    /// @param extraArgs Encoded extra options (payment in native token, ...).
    struct RandomWordsRequest {
        bytes32 keyHash;
        uint256 subId;
        uint16 requestConfirmations;
        uint32 callbackGasLimit;
        uint32 numWords;
        bytes extraArgs;
    }

    /// @notice Requests random words for the caller; returns the coordinator's request id.
    function requestRandomWords(RandomWordsRequest calldata req) external returns (uint256 requestId);
}

/// @title IVrfConsumer
/// @notice What a VRF coordinator calls back.
interface IVrfConsumer {
    /// @notice Delivers the random words of `requestId`; only the coordinator may call it.
    function rawFulfillRandomWords(uint256 requestId, uint256[] calldata randomWords) external;
}
