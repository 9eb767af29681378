// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IVerificationModule} from "./IVerificationModule.sol";

/// @title IInstantVerificationModule
/// @notice A verification module whose verdict is final on submission (zk: a proof either verifies or it
/// does not). The market settles a request of such a module in the transaction that submits its result
/// (`IInferenceMarket.fulfill` / `fulfillBatch`): no claim, no lock, no separate finalize. The module checks
/// and reverts to refuse; on return the result is accepted, the submitting operator is paid, and nothing
/// is slashed or rewarded. Modules declare this interface through ERC-165; the market records whether a
/// request's module does when it snapshots the request's terms.
interface IInstantVerificationModule is IVerificationModule {
    /// @notice What the market knows of the requests of one batch (same model, module and mode config).
    /// @param modelId The model of every request.
    /// @param operator The account submitting the batch (the payee of every request).
    /// @param config The mode config every request was created with.
    /// @param requestIds The requests, in the order of the proof's first slots (strictly ascending ids).
    /// @param inputHashes Each request's input hash.
    struct BatchSubmission {
        uint256 modelId;
        address operator;
        bytes config;
        uint256[] requestIds;
        bytes32[] inputHashes;
    }

    /// @notice Checks one result; reverts to refuse it. On return the output is verified and final.
    /// @param submission The request as the market knows it (`operator`: the account submitting).
    /// @param output The claimed result.
    /// @param proof Mode-specific evidence.
    function onFulfill(Submission calldata submission, bytes calldata output, bytes calldata proof) external;

    /// @notice Checks one proof covering several requests; reverts to refuse it. On return every request's
    /// output is verified and final.
    /// @return outputs The verified output of each request, in the order of `batch.requestIds`.
    function onFulfillBatch(
        BatchSubmission calldata batch,
        bytes calldata proof
    ) external returns (bytes[] memory outputs);
}
