// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IAIOracleConsumer
/// @notice Implemented by contracts that receive verified inference results from the InferenceMarket.
interface IAIOracleConsumer {
    /// @notice The caller is not the market this consumer trusts.
    error AIOracleConsumerOnlyMarket(address caller);
    /// @notice The result belongs to a request this consumer did not make (anyone can name any contract as
    /// a request's callback, with their own model and output).
    error AIOracleConsumerForeignRequest(uint256 requestId, address requester);

    /// @notice Called by the market, with a bounded gas limit, once a request's result is verified.
    /// @param requestId The market request id.
    /// @param output The verified output: abi.encode(int256[]) of the model's last tensor (VerimlOutput).
    function onInferenceResult(uint256 requestId, bytes calldata output) external;
}
