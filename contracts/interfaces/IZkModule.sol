// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IInferenceVerifier} from "./IInferenceVerifier.sol";
import {IVerificationModule} from "./IVerificationModule.sol";

/// @title IZkModule
/// @notice Proof of AI: a submission is accepted only with a Groth16 proof, checked by the model's own
/// verifier, that the registered model maps the request's input to the submitted output. Accepted
/// results are final at once.
///
/// Model config (ModelRegistry, mode ZK): `abi.encode(ZkConfig)`.
/// Submission: `output = abi.encode(int256[] values)`, the quantized values of the graph's last tensor
/// (the same output encoding as every other mode), `proof = abi.encode(ZkProof)`.
interface IZkModule is IVerificationModule {
    /// @notice Per-model settings.
    /// @param verifier The verifier generated for this model; its MODEL_HASH must be the registered modelHash.
    /// @param verifierCodeHash The verifier's code hash (EXTCODEHASH), so the config names exactly one
    /// verification key: anyone can rebuild the verifier from the published key and compare.
    struct ZkConfig {
        IInferenceVerifier verifier;
        bytes32 verifierCodeHash;
    }

    /// @notice What the operator submits as `proof`.
    /// @param input The request's input bytes; their keccak256 must be the request's input hash.
    struct ZkProof {
        bytes input;
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice Emitted when a proof is verified and the result accepted.
    event ProofVerified(uint256 indexed requestId, uint256 indexed modelId, address indexed operator, bytes output);

    /// @notice The caller is not the market.
    error ZkModuleOnlyMarket(address caller);
    /// @notice The config does not name a verifier contract.
    error ZkModuleNoVerifier(address verifier);
    /// @notice The verifier does not declare IInferenceVerifier through ERC-165.
    error ZkModuleNotAnInferenceVerifier(address verifier);
    /// @notice The verifier was generated for another model.
    error ZkModuleModelMismatch(uint256 modelId, bytes32 registered, bytes32 verifierModelHash);
    /// @notice The verifier's code is not the code the config pins.
    error ZkModuleVerifierCodeMismatch(address verifier, bytes32 expected, bytes32 actual);
    /// @notice The submitted input is not the request's input.
    error ZkModuleInputMismatch(uint256 requestId, bytes32 expected, bytes32 submitted);
    /// @notice The output is not the canonical abi.encode(int256[]).
    error ZkModuleBadOutput(uint256 requestId, uint256 length);
    /// @notice The proof does not verify for this input and output.
    error ZkModuleInvalidProof(uint256 requestId);
    /// @notice The request has no accepted result yet.
    error ZkModuleNotFinal(uint256 requestId);
}
