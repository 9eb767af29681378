// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IAIOracleConsumer
/// @notice Implemented by contracts that receive verified inference results from the InferenceMarket.
interface IAIOracleConsumer {
    /// @notice The caller is not the market this consumer trusts.
    error AIOracleConsumerOnlyMarket(address caller);

    /// @notice Called by the market, with a bounded gas limit, once a request's result is verified.
    /// @param requestId The market request id.
    /// @param output The verified output, encoded as the model's output format.
    function onInferenceResult(uint256 requestId, bytes calldata output) external;
}
