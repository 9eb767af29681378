// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IBenchmarkVerifier} from "./IBenchmarkVerifier.sol";
import {IModelRegistry} from "./IModelRegistry.sol";

/// @title IBenchmarkRegistry
/// @notice On-chain record of benchmark attestations: Groth16 proofs that a registered model (ModelRegistry id)
/// labels `correct` of the `samples` samples of a committed test set correctly. The dataset commitment is a
/// Poseidon hash of the quantized inputs and labels (verifier-gen/src/attestation.ts `datasetCommitment`), so
/// anyone holding the test set can recompute it. The model's owner names one attestation verifier per sample
/// count, once, pinned by its code hash (as the ZkModule pins inference verifiers): records are keyed by model id,
/// so a copy of the model registered by someone else, with a verifier of its choosing, cannot add records to
/// this one. Anyone may attest; each proof is bound to its attester, and a model has one record per test set.
interface IBenchmarkRegistry {
    /// @notice A recorded attestation.
    /// @param modelId The ModelRegistry id the attestation is about.
    /// @param modelHash That model's commitment (what the verifier's circuit encodes).
    /// @param dataset The test set's commitment.
    /// @param samples The number of test samples.
    /// @param correct How many of them the model labels correctly.
    /// @param attester Who submitted it (the account the proof was made for).
    /// @param blockNumber The block it was recorded in.
    /// @param verifier The verifier that accepted it.
    struct Attestation {
        uint256 modelId;
        bytes32 modelHash;
        bytes32 dataset;
        uint32 samples;
        uint32 correct;
        address attester;
        uint64 blockNumber;
        IBenchmarkVerifier verifier;
    }

    /// @notice A Groth16 proof (b in the EIP-197 coordinate order).
    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice A verifier pinned for a model and a sample count.
    struct VerifierConfig {
        IBenchmarkVerifier verifier;
        bytes32 codeHash;
    }

    /// @notice Emitted when a model's owner names the attestation verifier for a sample count.
    event BenchmarkVerifierSet(
        uint256 indexed modelId,
        uint256 indexed samples,
        IBenchmarkVerifier verifier,
        bytes32 codeHash
    );
    /// @notice Emitted when an attestation is recorded.
    event Attested(
        uint256 indexed attestationId,
        uint256 indexed modelId,
        bytes32 indexed dataset,
        bytes32 modelHash,
        uint256 samples,
        uint256 correct,
        address attester
    );

    /// @notice Only the model's owner (in the ModelRegistry) names its verifiers.
    error BenchmarkRegistryNotModelOwner(uint256 modelId, address caller);
    /// @notice The address holds no contract.
    error BenchmarkRegistryNoVerifier(address verifier);
    /// @notice The verifier does not declare IBenchmarkVerifier through ERC-165.
    error BenchmarkRegistryNotABenchmarkVerifier(address verifier);
    /// @notice The verifier was generated for another model.
    error BenchmarkRegistryModelMismatch(uint256 modelId, bytes32 registered, bytes32 verifierModelHash);
    /// @notice The verifier's code is not the code pinned for it.
    error BenchmarkRegistryVerifierCodeMismatch(address verifier, bytes32 expected, bytes32 actual);
    /// @notice A verifier is already named for this model and sample count (verifiers are never replaced).
    error BenchmarkRegistryVerifierAlreadySet(uint256 modelId, uint256 samples, address verifier);
    /// @notice No verifier is named for this model and sample count.
    error BenchmarkRegistryNoVerifierFor(uint256 modelId, uint256 samples);
    /// @notice More correct labels than samples.
    error BenchmarkRegistryCorrectAboveSamples(uint256 correct, uint256 samples);
    /// @notice The proof does not verify for this model, test set, count and attester.
    error BenchmarkRegistryInvalidProof(uint256 modelId, bytes32 dataset, uint256 samples, uint256 correct);
    /// @notice The model already has an attestation on this test set (the count it states is the only one provable).
    error BenchmarkRegistryAlreadyAttested(uint256 modelId, bytes32 dataset, uint256 attestationId);
    /// @notice No attestation has this id.
    error BenchmarkRegistryUnknownAttestation(uint256 attestationId);

    /// @notice Names the attestation verifier of `modelId` for the verifier's SAMPLES; once per sample count.
    /// @dev The verifier must declare IBenchmarkVerifier, report the registered modelHash and have code hash
    /// `codeHash` (checked again at every attestation).
    function setVerifier(uint256 modelId, IBenchmarkVerifier verifier, bytes32 codeHash) external;

    /// @notice Records that model `modelId` labels `correct` of the `samples` samples of test set `dataset`
    /// correctly, if `proof` (made for msg.sender) verifies with the model's verifier for `samples`.
    /// @return attestationId The new record's id (0, 1, 2, ...).
    function attest(
        uint256 modelId,
        bytes32 dataset,
        uint256 samples,
        uint256 correct,
        Proof calldata proof
    ) external returns (uint256 attestationId);

    /// @notice The verifier named for a model and a sample count (zero if none).
    function verifierOf(uint256 modelId, uint256 samples) external view returns (VerifierConfig memory);

    /// @notice How many attestations are recorded (ids are 0 .. count - 1).
    function attestationCount() external view returns (uint256);

    /// @notice One attestation.
    function getAttestation(uint256 attestationId) external view returns (Attestation memory);

    /// @notice The ids of a model's attestations, in the order they were recorded.
    function attestationsOf(uint256 modelId) external view returns (uint256[] memory);

    /// @notice The attestation of a model on a test set. A sound circuit proves one count per model and test set
    /// (the model is deterministic), so there is at most one.
    /// @return found Whether there is one.
    /// @return attestation The attestation (all zero when not found).
    function attestationFor(
        uint256 modelId,
        bytes32 dataset
    ) external view returns (bool found, Attestation memory attestation);

    /// @notice The model registry whose owners name the verifiers.
    function modelRegistry() external view returns (IModelRegistry);
}
