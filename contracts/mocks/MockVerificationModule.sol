// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IInstantVerificationModule} from "../interfaces/IInstantVerificationModule.sol";

/// @title MockVerificationModule
/// @notice Test-only module whose verdicts are scripted by the test. Never deploy it to a real network:
/// whoever scripts it decides payouts and slashes. It is an instant module (ERC-165) unless told otherwise
/// (`setInstant(false)`, read by the market when it records a request's terms): `onFulfill` accepts unless
/// submissions are rejected, and `onFulfillBatch` accepts each request's output `batchOutputs` scripted.
contract MockVerificationModule is IInstantVerificationModule, IERC165 {
    address private immutable _market;
    mapping(uint256 requestId => bool) private _final;
    mapping(uint256 requestId => bool) private _submitted;
    mapping(uint256 requestId => bytes) private _outputs;
    mapping(uint256 requestId => Settlement) private _settlements;
    uint256 private _feeBps;
    bool private _rejectSubmissions;
    bool private _autoAccept;
    bool private _notInstant;
    bytes[] private _batchOutputs;
    bool private _batchOutputsSet;

    event MockSubmissionReceived(uint256 indexed requestId, address indexed operator, bytes output, bytes proof);
    event MockFulfillReceived(uint256 indexed requestId, address indexed operator, bytes config, bytes32 inputHash);
    event MockBatchReceived(uint256[] requestIds, address indexed operator, bytes config, bytes32[] inputHashes);

    error MockVerificationModuleOnlyMarket(address caller);
    error MockVerificationModuleRejected(uint256 requestId);
    error MockVerificationModuleBadConfig(bytes config);
    error MockVerificationModuleNotFinal(uint256 requestId);

    constructor(address market_) {
        _market = market_;
    }

    /// @notice Verification fee in basis points of the price.
    function setFeeBps(uint256 bps) external {
        _feeBps = bps;
    }

    /// @notice When set, submissions revert (a module refusing an invalid proof).
    function setRejectSubmissions(bool reject) external {
        _rejectSubmissions = reject;
    }

    /// @notice When set, every submission is final and accepted with the submitted output.
    function setAutoAccept(bool autoAccept) external {
        _autoAccept = autoAccept;
    }

    /// @notice When set, the module no longer declares IInstantVerificationModule (for terms recorded after).
    function setInstant(bool instant) external {
        _notInstant = !instant;
    }

    /// @notice Scripts what onFulfillBatch returns (any length, to test the market's check); unset: one
    /// `abi.encode(int256[] [7])` per request.
    function setBatchOutputs(bytes[] calldata outputs) external {
        delete _batchOutputs;
        for (uint256 i = 0; i < outputs.length; ++i) _batchOutputs.push(outputs[i]);
        _batchOutputsSet = true;
    }

    /// @notice Scripts the final verdict of a request.
    function setVerdict(uint256 requestId, Settlement calldata settlement_) external {
        Settlement storage stored = _settlements[requestId];
        stored.accepted = settlement_.accepted;
        stored.output = settlement_.output;
        stored.payee = settlement_.payee;
        stored.operatorSlash = settlement_.operatorSlash;
        stored.slashBeneficiary = settlement_.slashBeneficiary;
        delete stored.rewards;
        for (uint256 i = 0; i < settlement_.rewards.length; ++i) stored.rewards.push(settlement_.rewards[i]);
        _final[requestId] = true;
    }

    function validateModelConfig(uint256, bytes calldata config) external pure {
        // Mock config: empty, or one word that must not be 0xdead (lets tests exercise rejection).
        if (config.length == 32 && abi.decode(config, (uint256)) == 0xdead)
            revert MockVerificationModuleBadConfig(config);
    }

    function verificationFee(bytes calldata, uint256 price) external view returns (uint256) {
        return (price * _feeBps) / 10_000;
    }

    function onSubmit(Submission calldata submission, bytes calldata output, bytes calldata proof) external {
        if (msg.sender != _market) revert MockVerificationModuleOnlyMarket(msg.sender);
        if (_rejectSubmissions) revert MockVerificationModuleRejected(submission.requestId);
        _submitted[submission.requestId] = true;
        _outputs[submission.requestId] = output;
        if (_autoAccept) {
            Settlement storage stored = _settlements[submission.requestId];
            stored.accepted = true;
            stored.output = output;
            stored.payee = submission.operator;
            _final[submission.requestId] = true;
        }
        emit MockSubmissionReceived(submission.requestId, submission.operator, output, proof);
    }

    function onFulfill(Submission calldata submission, bytes calldata, bytes calldata) external {
        if (msg.sender != _market) revert MockVerificationModuleOnlyMarket(msg.sender);
        if (_rejectSubmissions) revert MockVerificationModuleRejected(submission.requestId);
        emit MockFulfillReceived(submission.requestId, submission.operator, submission.config, submission.inputHash);
    }

    function onFulfillBatch(BatchSubmission calldata batch, bytes calldata) external returns (bytes[] memory outputs) {
        if (msg.sender != _market) revert MockVerificationModuleOnlyMarket(msg.sender);
        if (_rejectSubmissions) revert MockVerificationModuleRejected(batch.requestIds[0]);
        emit MockBatchReceived(batch.requestIds, batch.operator, batch.config, batch.inputHashes);
        if (_batchOutputsSet) return _batchOutputs;
        outputs = new bytes[](batch.requestIds.length);
        int256[] memory seven = new int256[](1);
        seven[0] = 7;
        for (uint256 i = 0; i < outputs.length; ++i) outputs[i] = abi.encode(seven);
    }

    function supportsInterface(bytes4 interfaceId) external view returns (bool) {
        return
            interfaceId == type(IERC165).interfaceId ||
            (!_notInstant && interfaceId == type(IInstantVerificationModule).interfaceId);
    }

    function isFinal(uint256 requestId) external view returns (bool) {
        return _final[requestId];
    }

    function settlement(uint256 requestId) external view returns (Settlement memory) {
        if (!_final[requestId]) revert MockVerificationModuleNotFinal(requestId);
        return _settlements[requestId];
    }

    function submittedOutput(uint256 requestId) external view returns (bytes memory) {
        return _outputs[requestId];
    }
}
