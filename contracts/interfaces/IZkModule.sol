// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IInferenceVerifier} from "./IInferenceVerifier.sol";
import {IInstantVerificationModule} from "./IInstantVerificationModule.sol";

/// @title IZkModule
/// @notice Proof of AI: a result is accepted only with a Groth16 proof, checked by the model's own
/// verifier, that the registered model maps the request's input to the submitted output. Accepted
/// results are final at once, so the market settles them in the submitting transaction
/// (`IInferenceMarket.fulfill`, `fulfillBatch`); the claim -> submitResult -> finalize path also works.
///
/// Model config (ModelRegistry, mode ZK): `abi.encode(ZkConfig)`.
/// Single result (fulfill, submitResult): `output = abi.encode(int256[] values)`, the quantized values of
/// the graph's last tensor (the same output encoding as every other mode), `proof = abi.encode(ZkProof)`;
/// only for a verifier with BATCH_SIZE() == 1.
/// Batch (fulfillBatch): `proof = abi.encode(ZkBatchProof)` with exactly BATCH_SIZE() slots; the first
/// `requestIds.length` slots are the requests, in order; the remaining slots are padding (any valid
/// inference, e.g. copies of a real slot) and deliver nothing. The module reads the proof in place and forwards
/// the bytes after its offset word (exactly verifyInferences' arguments) to the verifier unchanged, so it must be a
/// whole number of 32-byte words starting with the offset word 0x20, with both arrays' headers after the head and
/// inside the proof (`ZkModuleBadBatchProof` otherwise).
interface IZkModule is IInstantVerificationModule {
    /// @notice Per-model settings.
    /// @param verifier The verifier generated for this model; its MODEL_HASH must be the registered modelHash.
    /// @param verifierCodeHash The verifier's code hash (EXTCODEHASH), so the config names exactly one
    /// verification key: anyone can rebuild the verifier from the published key and compare.
    struct ZkConfig {
        IInferenceVerifier verifier;
        bytes32 verifierCodeHash;
    }

    /// @notice What the operator submits as `proof` for one request.
    /// @param input The request's input bytes; their keccak256 must be the request's input hash.
    struct ZkProof {
        bytes input;
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice What the operator submits as `proof` for a batch.
    /// @param inputs One input per slot (BATCH_SIZE() of them); slot i < requestIds.length is request i's.
    /// @param outputs One output per slot: the quantized values of the graph's last tensor.
    struct ZkBatchProof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
        bytes[] inputs;
        int256[][] outputs;
    }

    /// @notice Emitted when a proof is verified and the result accepted.
    event ProofVerified(uint256 indexed requestId, uint256 indexed modelId, address indexed operator, bytes output);
    /// @notice Emitted when a batch proof is verified and the results of `requestIds` accepted.
    event BatchProofVerified(uint256 indexed modelId, address indexed operator, uint256[] requestIds);

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
    /// @notice The verifier reports a batch size outside [1, MAX_BATCH_SIZE].
    error ZkModuleBadBatchSize(address verifier, uint256 batchSize);
    /// @notice A single-result path was used with a batch verifier (use fulfillBatch).
    error ZkModuleBatchVerifier(uint256 requestId, uint256 batchSize);
    /// @notice A batch proof's slots do not fit the verifier: `requests` <= `batchSize` == inputs == outputs.
    error ZkModuleBatchShape(uint256 requests, uint256 inputs, uint256 outputs, uint256 batchSize);
    /// @notice A batch proof is not abi.encode(ZkBatchProof) (`length`: its length in bytes).
    error ZkModuleBadBatchProof(uint256 length);
    /// @notice Batch slot `slot`'s input or output is encoded outside the verifier's arguments (a backward offset).
    error ZkModuleBadBatchSlot(uint256 slot);
    /// @notice The submitted input is not the request's input.
    error ZkModuleInputMismatch(uint256 requestId, bytes32 expected, bytes32 submitted);
    /// @notice The output is not the canonical abi.encode(int256[]).
    error ZkModuleBadOutput(uint256 requestId, uint256 length);
    /// @notice The proof does not verify for this input and output.
    error ZkModuleInvalidProof(uint256 requestId);
    /// @notice The batch proof does not verify for these inputs and outputs (`firstRequestId`: the batch's first).
    error ZkModuleInvalidBatchProof(uint256 firstRequestId, uint256 requests);
    /// @notice The request has no accepted result yet.
    error ZkModuleNotFinal(uint256 requestId);

    /// @notice The largest batch size a registered verifier may have.
    function MAX_BATCH_SIZE() external view returns (uint256);
}
