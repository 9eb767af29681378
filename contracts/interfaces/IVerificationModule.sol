// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IVerificationModule
/// @notice The interface through which the InferenceMarket delegates verification to one mode
/// (zk, optimistic, sampling, quality). The market owns the money and the operator's stake lock;
/// a module owns the judgement. The market:
///   1. asks the module to validate a model's mode config when it is registered or changed,
///   2. asks how much extra escrow the module needs per request (for verifier rewards),
///   3. hands it each submission (`onSubmit`), which the module may refuse by reverting,
///   4. asks whether the request is final and, once it is, how to settle it.
/// Modules may expose further entry points of their own (reveals, challenges, votes) and may lock
/// and slash stakes of the third parties they involve through the StakingVault.
interface IVerificationModule {
    /// @notice One payment out of the module fee escrowed with the request.
    struct Reward {
        address to;
        uint256 amount;
    }

    /// @notice How a final request settles.
    /// @param accepted True: `output` is delivered and `payee` paid; false: the requester is refunded.
    /// @param output The verified result delivered to the consumer (ignored when rejected).
    /// @param payee Who is paid the operator price when accepted (normally the assigned operator).
    /// @param operatorSlash Amount of the assigned operator's locked stake to slash.
    /// @param slashBeneficiary Receives the injured party's share of the slash (address(0): the requester).
    /// @param rewards Payments out of the module fee; their sum never exceeds the fee, the rest is refunded.
    struct Settlement {
        bool accepted;
        bytes output;
        address payee;
        uint256 operatorSlash;
        address slashBeneficiary;
        Reward[] rewards;
    }

    /// @notice What the market knows of a request when it hands over a submission.
    struct Submission {
        uint256 requestId;
        uint256 modelId;
        address operator;
        bytes32 inputHash;
        bytes config;
    }

    /// @notice Reverts when `config` is not a valid setting of this mode for the model.
    function validateModelConfig(uint256 modelId, bytes calldata config) external view;

    /// @notice Extra escrow the module needs per request, on top of the operator price `price`.
    function verificationFee(bytes calldata config, uint256 price) external view returns (uint256);

    /// @notice Called by the market when the assigned operator submits; reverting refuses the submission.
    /// @param submission The request as the market knows it.
    /// @param output The claimed result (or a commitment to it, per mode).
    /// @param proof Mode-specific evidence (a Groth16 proof, a trace root, ...).
    function onSubmit(Submission calldata submission, bytes calldata output, bytes calldata proof) external;

    /// @notice Whether the request has reached a final verdict.
    function isFinal(uint256 requestId) external view returns (bool);

    /// @notice The verdict of a final request; reverts when not final.
    function settlement(uint256 requestId) external view returns (Settlement memory);
}
