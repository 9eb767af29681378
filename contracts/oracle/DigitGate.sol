// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {VerimlOutput} from "../libraries/VerimlOutput.sol";
import {AIOracleConsumer} from "./AIOracleConsumer.sol";

/// @title DigitGate
/// @notice Example consumer: anyone submits an 8x8 handwritten digit (64 pixels, 0-16) with the
/// inference fee; once the digits classifier's verified label comes back, the contract records it and,
/// when the label is the gate's target digit, lets the submitter through (`passed`). Shows the full
/// consumer pattern: request with a callback, act on verified output, recover refunds.
contract DigitGate is AIOracleConsumer {
    /// @notice A classification this gate asked for.
    struct Classification {
        address submitter;
        bool answered;
        uint8 label;
    }

    uint256 private immutable _modelId;
    uint8 private immutable _mode;
    uint8 private immutable _targetDigit;
    bytes32 private immutable _termsHash;
    uint32 private constant _CALLBACK_GAS = 100_000;
    uint256 private constant _PIXELS = 64;

    mapping(uint256 requestId => Classification) private _classifications;
    mapping(address submitter => bool) private _passed;
    mapping(uint8 label => uint256) private _labelCounts;
    mapping(address submitter => uint256) private _refundable;

    /// @notice Emitted when a digit is sent for classification.
    event DigitSubmitted(uint256 indexed requestId, address indexed submitter);
    /// @notice Emitted when the verified label arrives.
    event DigitClassified(uint256 indexed requestId, address indexed submitter, uint8 label, bool passed);

    /// @notice The image is not 64 pixels of 0-16.
    error DigitGateBadImage(uint256 length, uint256 badIndex);
    /// @notice The output is not one label in 0-9.
    error DigitGateBadOutput(uint256 requestId, bytes output);
    /// @notice The result is for another model or mode than the gate asks.
    error DigitGateWrongModel(uint256 requestId, uint256 modelId, uint8 mode);
    /// @notice The target digit is not in 0-9.
    error DigitGateBadTarget(uint8 target);

    /// @param termsHash_ The terms (IInferenceMarket.termsHashOf: operator stake and mode config, for zk the
    /// verifier and its code hash) the gate trusts; every request pins them, so the model owner cannot swap
    /// the verifier or cut the stake under the gate. Zero trusts the owner's current choice.
    constructor(
        IInferenceMarket market_,
        uint256 modelId_,
        uint8 mode_,
        uint8 targetDigit_,
        bytes32 termsHash_
    ) AIOracleConsumer(market_) {
        if (targetDigit_ > 9) revert DigitGateBadTarget(targetDigit_);
        _modelId = modelId_;
        _mode = mode_;
        _targetDigit = targetDigit_;
        _termsHash = termsHash_;
    }

    /// @notice Sends `pixels` (64 bytes, each 0-16) for classification; msg.value is the max fee.
    function submitDigit(bytes calldata pixels, uint64 deadline) external payable returns (uint256 requestId) {
        if (pixels.length != _PIXELS) revert DigitGateBadImage(pixels.length, type(uint256).max);
        for (uint256 i = 0; i < _PIXELS; ++i) {
            if (uint8(pixels[i]) > 16) revert DigitGateBadImage(pixels.length, i);
        }
        requestId = _requestInference(_modelId, _mode, pixels, msg.value, deadline, _CALLBACK_GAS, _termsHash);
        _classifications[requestId] = Classification({submitter: msg.sender, answered: false, label: 0});
        emit DigitSubmitted(requestId, msg.sender);
    }

    /// @notice Whether `submitter` has had a digit classified as the target.
    function passed(address submitter) external view returns (bool) {
        return _passed[submitter];
    }

    /// @notice A classification by request id.
    function classification(uint256 requestId) external view returns (Classification memory) {
        return _classifications[requestId];
    }

    /// @notice How many verified digits carried `label`.
    function labelCount(uint8 label) external view returns (uint256) {
        return _labelCounts[label];
    }

    /// @notice keccak256 of the mode config every request of the gate pins (zero: none pinned).
    function termsHash() external view returns (bytes32) {
        return _termsHash;
    }

    /// @notice The digit that opens the gate.
    function targetDigit() external view returns (uint8) {
        return _targetDigit;
    }

    /// @notice Pulls refunds and overpayments the market owes this gate into the gate's balance, which
    /// funds later requests (an example policy; a production consumer would attribute them).
    function collectRefunds() external {
        _withdrawRefunds();
    }

    /// @notice Pulls the gate's share of no-show slashes from the vault into the gate's balance.
    function collectSlashProceeds() external {
        _withdrawSlashProceeds();
    }

    /// @dev Output of the digits classifiers: their last tensor is the ArgMax label, one value in 0-9.
    function _onInferenceResult(
        uint256 requestId,
        uint256 modelId,
        uint8 mode,
        bytes calldata output
    ) internal override {
        if (modelId != _modelId || mode != _mode) revert DigitGateWrongModel(requestId, modelId, mode);
        (bool ok, int256[] memory values) = VerimlOutput.tryDecode(output);
        if (!ok || values.length != 1 || values[0] < 0 || values[0] > 9) revert DigitGateBadOutput(requestId, output);
        uint256 label = uint256(values[0]);
        Classification storage entry = _classifications[requestId];
        entry.answered = true;
        entry.label = uint8(label);
        _labelCounts[uint8(label)] += 1;
        bool isTarget = uint8(label) == _targetDigit;
        if (isTarget) _passed[entry.submitter] = true;
        emit DigitClassified(requestId, entry.submitter, uint8(label), isTarget);
    }

    receive() external payable {}
}
