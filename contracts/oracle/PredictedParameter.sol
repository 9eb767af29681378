// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {VerimlOutput} from "../libraries/VerimlOutput.sol";
import {AIOracleConsumer} from "./AIOracleConsumer.sol";

/// @title PredictedParameter
/// @notice Example consumer driven by a regression model: an on-chain parameter (a risk limit, a premium,
/// a rate) set from a verified prediction. Anyone pays for an update with the model's encoded input; the
/// verified output (one quantized value) is dequantized with the model's output scale into an 18-decimal
/// number and, when inside the configured bounds, becomes the parameter.
/// @dev The scale is given at deployment (from the build's manifest) together with the modelHash it belongs
/// to; the constructor checks the registry holds that modelHash, and the modelHash commits to the scale
/// (verifier-gen commitment format 3), so the scale cannot be the operator's word.
contract PredictedParameter is AIOracleConsumer {
    uint256 private immutable _modelId;
    uint8 private immutable _mode;
    bytes32 private immutable _termsHash;
    uint256 private immutable _inputLength;
    int256 private immutable _scaleNumerator;
    int256 private immutable _scaleDenominator;
    int256 private immutable _min;
    int256 private immutable _max;
    uint32 private constant _CALLBACK_GAS = 120_000;

    int256 private _value;
    uint256 private _appliedRequest;
    uint256 private _updatedAt;

    /// @notice Emitted when an update is paid for.
    event PredictionRequested(uint256 indexed requestId, address indexed requester);
    /// @notice Emitted when a verified prediction becomes the parameter (18 decimals).
    event ParameterSet(uint256 indexed requestId, int256 value);
    /// @notice Emitted when a verified prediction is outside the bounds and is not applied.
    event PredictionOutOfBounds(uint256 indexed requestId, int256 value);
    /// @notice Emitted when a verified prediction arrives after a newer one was applied.
    event PredictionStale(uint256 indexed requestId, uint256 appliedRequest);

    /// @notice The registry does not hold the modelHash the scale belongs to.
    error PredictedParameterModelMismatch(uint256 modelId, bytes32 expected, bytes32 registered);
    /// @notice The scale is not a positive fraction.
    error PredictedParameterBadScale(int256 numerator, int256 denominator);
    /// @notice The bounds are empty.
    error PredictedParameterBadBounds(int256 min, int256 max);
    /// @notice The input is not the model's encoded length.
    error PredictedParameterBadInput(uint256 length, uint256 expected);
    /// @notice The result is for another model or mode.
    error PredictedParameterWrongModel(uint256 requestId, uint256 modelId, uint8 mode);
    /// @notice The output is not one value.
    error PredictedParameterBadOutput(uint256 requestId, bytes output);

    /// @param modelHash_ The commitment of the model whose output scale is `scaleNumerator / scaleDenominator`.
    /// @param inputLength_ Bytes of the model's encoded input (values x bytes per value, from its manifest).
    /// @param min_ Smallest value (18 decimals) applied; @param max_ the largest.
    constructor(
        IInferenceMarket market_,
        uint256 modelId_,
        uint8 mode_,
        bytes32 termsHash_,
        bytes32 modelHash_,
        uint256 inputLength_,
        int256 scaleNumerator_,
        int256 scaleDenominator_,
        int256 min_,
        int256 max_
    ) AIOracleConsumer(market_) {
        bytes32 registered = market_.registry().getModel(modelId_).modelHash;
        if (registered != modelHash_) revert PredictedParameterModelMismatch(modelId_, modelHash_, registered);
        if (scaleNumerator_ <= 0 || scaleDenominator_ <= 0) {
            revert PredictedParameterBadScale(scaleNumerator_, scaleDenominator_);
        }
        if (min_ > max_) revert PredictedParameterBadBounds(min_, max_);
        _modelId = modelId_;
        _mode = mode_;
        _termsHash = termsHash_;
        _inputLength = inputLength_;
        _scaleNumerator = scaleNumerator_;
        _scaleDenominator = scaleDenominator_;
        _min = min_;
        _max = max_;
    }

    /// @notice Pays for a prediction on `input` (the model's encoded input); msg.value is the max fee.
    function requestUpdate(bytes calldata input, uint64 deadline) external payable returns (uint256 requestId) {
        if (input.length != _inputLength) revert PredictedParameterBadInput(input.length, _inputLength);
        requestId = _requestInference(_modelId, _mode, input, msg.value, deadline, _CALLBACK_GAS, _termsHash);
        emit PredictionRequested(requestId, msg.sender);
    }

    /// @notice The parameter (18 decimals), the request that set it and when (zero before the first).
    function parameter() external view returns (int256 value, uint256 requestId, uint256 updatedAt) {
        return (_value, _appliedRequest, _updatedAt);
    }

    /// @notice The bounds a prediction must fall in to be applied (18 decimals).
    function bounds() external view returns (int256 min, int256 max) {
        return (_min, _max);
    }

    /// @notice Pulls refunds the market owes this contract (they fund later updates).
    function collectRefunds() external {
        _withdrawRefunds();
    }

    function _onInferenceResult(
        uint256 requestId,
        uint256 modelId,
        uint8 mode,
        bytes calldata output
    ) internal override {
        if (modelId != _modelId || mode != _mode) revert PredictedParameterWrongModel(requestId, modelId, mode);
        (bool ok, int256[] memory values) = VerimlOutput.tryDecode(output);
        if (!ok || values.length != 1) revert PredictedParameterBadOutput(requestId, output);
        int256 value = VerimlOutput.toFixed18(values[0], _scaleNumerator, _scaleDenominator);
        // INVARIANT: the parameter only moves forward in request order (results may settle out of order).
        if (requestId < _appliedRequest) {
            emit PredictionStale(requestId, _appliedRequest);
            return;
        }
        if (value < _min || value > _max) {
            emit PredictionOutOfBounds(requestId, value);
            return;
        }
        _value = value;
        _appliedRequest = requestId;
        _updatedAt = block.timestamp;
        emit ParameterSet(requestId, value);
    }

    receive() external payable {}
}
