// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVerificationModule} from "../interfaces/IVerificationModule.sol";

/// @title MockVerificationModule
/// @notice Test-only module whose verdicts are scripted by the test. Never deploy it to a real network:
/// whoever scripts it decides payouts and slashes.
contract MockVerificationModule is IVerificationModule {
    address private immutable _market;
    mapping(uint256 requestId => bool) private _final;
    mapping(uint256 requestId => bool) private _submitted;
    mapping(uint256 requestId => bytes) private _outputs;
    mapping(uint256 requestId => Settlement) private _settlements;
    uint256 private _feeBps;
    bool private _rejectSubmissions;
    bool private _autoAccept;

    event MockSubmissionReceived(uint256 indexed requestId, address indexed operator, bytes output, bytes proof);

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
