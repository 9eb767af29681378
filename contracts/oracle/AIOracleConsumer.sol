// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAIOracleConsumer} from "../interfaces/IAIOracleConsumer.sol";
import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";

/// @title AIOracleConsumer
/// @notice Base for contracts that buy inferences from the InferenceMarket and act on the verified
/// result, in the style of VRF and Functions consumers: call `_requestInference`, implement
/// `_onInferenceResult`. Only the market can deliver a result, and only results of requests this
/// contract made reach `_onInferenceResult`, with the model and mode they were made for (so a consumer
/// checks those too: a request names its own model). Refunds (an unanswered or rejected request) are
/// credited to this contract in the market; `_withdrawRefunds` collects them.
abstract contract AIOracleConsumer is IAIOracleConsumer {
    IInferenceMarket private immutable _market;

    constructor(IInferenceMarket market_) {
        _market = market_;
    }

    /// @inheritdoc IAIOracleConsumer
    function onInferenceResult(uint256 requestId, bytes calldata output) external {
        // INVARIANT: results reach the consumer only from the market, which delivers only verified output.
        if (msg.sender != address(_market)) revert AIOracleConsumerOnlyMarket(msg.sender);
        IInferenceMarket.Request memory request = _market.getRequest(requestId);
        // INVARIANT: only results of this consumer's own requests are acted on.
        if (request.requester != address(this)) revert AIOracleConsumerForeignRequest(requestId, request.requester);
        _onInferenceResult(requestId, request.modelId, request.mode, output);
    }

    /// @notice The market this consumer trusts.
    function market() public view returns (IInferenceMarket) {
        return _market;
    }

    /// @dev Creates a request paid in ETH (`value` is the max fee) with this contract as the callback, judged
    /// under the terms (operator stake and mode config, IInferenceMarket.termsHashOf) whose hash is `termsHash`
    /// (zero: whatever the model owner has set).
    function _requestInference(
        uint256 modelId,
        uint8 mode,
        bytes memory input,
        uint256 value,
        uint64 deadline,
        uint32 callbackGasLimit,
        bytes32 termsHash
    ) internal returns (uint256 requestId) {
        return
            _market.createRequest{value: value}(
                IInferenceMarket.RequestParams({
                    modelId: modelId,
                    mode: mode,
                    token: address(0),
                    maxFee: value,
                    deadline: deadline,
                    input: input,
                    inputHash: bytes32(0),
                    inputURI: "",
                    callback: address(this),
                    callbackGasLimit: callbackGasLimit,
                    termsHash: termsHash
                })
            );
    }

    /// @dev Pulls ETH the market owes this contract (refunds, overpayment).
    function _withdrawRefunds() internal {
        _market.withdraw(address(0));
    }

    /// @dev Pulls this contract's share of slashes (an operator that claimed its request and never
    /// answered is slashed in the requester's favour), held by the staking vault.
    function _withdrawSlashProceeds() internal {
        _market.vault().withdrawSlashProceeds();
    }

    /// @dev Receives a verified result of a request this contract made, for `modelId` in `mode`. Runs under
    /// the gas limit given at request time; a revert here is recorded by the market but does not undo
    /// settlement.
    function _onInferenceResult(uint256 requestId, uint256 modelId, uint8 mode, bytes calldata output) internal virtual;
}
