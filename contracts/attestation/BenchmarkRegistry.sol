// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC165Checker} from "@openzeppelin/contracts/utils/introspection/ERC165Checker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IBenchmarkRegistry} from "../interfaces/IBenchmarkRegistry.sol";
import {IBenchmarkVerifier} from "../interfaces/IBenchmarkVerifier.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

/// @title BenchmarkRegistry
/// @notice Records benchmark attestations of registered models (see IBenchmarkRegistry).
contract BenchmarkRegistry is IBenchmarkRegistry {
    IModelRegistry private immutable _models;

    mapping(uint256 modelId => mapping(uint256 samples => VerifierConfig)) private _verifiers;
    /// @dev the registered modelHash of each model with a verifier (it never changes), what its records name
    mapping(uint256 modelId => bytes32) private _modelHashes;
    Attestation[] private _attestations;
    mapping(uint256 modelId => uint256[]) private _byModel;
    /// @dev attestation id + 1 per model and test set (0: none)
    mapping(uint256 modelId => mapping(bytes32 dataset => uint256)) private _byDataset;

    constructor(IModelRegistry models_) {
        _models = models_;
    }

    /// @inheritdoc IBenchmarkRegistry
    function setVerifier(uint256 modelId, IBenchmarkVerifier verifier, bytes32 codeHash) external {
        IModelRegistry.Model memory model = _models.getModel(modelId);
        // INVARIANT: only the model's owner says which verifier judges its attestations.
        if (model.owner != msg.sender) revert BenchmarkRegistryNotModelOwner(modelId, msg.sender);
        if (address(verifier).code.length == 0) revert BenchmarkRegistryNoVerifier(address(verifier));
        _requireCode(verifier, codeHash);
        if (!ERC165Checker.supportsInterface(address(verifier), type(IBenchmarkVerifier).interfaceId)) {
            revert BenchmarkRegistryNotABenchmarkVerifier(address(verifier));
        }
        bytes32 bound = verifier.MODEL_HASH();
        // INVARIANT: a model's attestations are checked by a verifier built from exactly that model.
        if (bound != model.modelHash) revert BenchmarkRegistryModelMismatch(modelId, model.modelHash, bound);
        uint256 samples = verifier.SAMPLES();
        VerifierConfig storage slot = _verifiers[modelId][samples];
        // INVARIANT: a verifier once named is never replaced, so past and future records share one key.
        if (address(slot.verifier) != address(0)) {
            revert BenchmarkRegistryVerifierAlreadySet(modelId, samples, address(slot.verifier));
        }
        slot.verifier = verifier;
        slot.codeHash = codeHash;
        if (_modelHashes[modelId] == bytes32(0)) _modelHashes[modelId] = bound;
        emit BenchmarkVerifierSet(modelId, samples, verifier, codeHash);
    }

    /// @inheritdoc IBenchmarkRegistry
    function attest(
        uint256 modelId,
        bytes32 dataset,
        uint256 samples,
        uint256 correct,
        Proof calldata proof
    ) external returns (uint256 attestationId) {
        VerifierConfig memory cfg = _verifiers[modelId][samples];
        if (address(cfg.verifier) == address(0)) revert BenchmarkRegistryNoVerifierFor(modelId, samples);
        if (correct > samples) revert BenchmarkRegistryCorrectAboveSamples(correct, samples);
        uint256 recorded = _byDataset[modelId][dataset];
        // INVARIANT: one record per model and test set: the count is determined by them, so a second proof
        // (another attester, a re-randomized copy) could only repeat it.
        if (recorded != 0) revert BenchmarkRegistryAlreadyAttested(modelId, dataset, recorded - 1);
        // INVARIANT: the proof is checked by exactly the verification key the owner pinned, for this test set,
        // this count and this attester.
        _requireCode(cfg.verifier, cfg.codeHash);
        if (!cfg.verifier.verifyAttestation(proof.a, proof.b, proof.c, uint256(dataset), correct, msg.sender)) {
            revert BenchmarkRegistryInvalidProof(modelId, dataset, samples, correct);
        }
        // The commitment checked at setVerifier, not the verifier's word again: MODEL_HASH() may read storage that
        // changed since (the code hash pins code, not state).
        bytes32 modelHash = _modelHashes[modelId];
        attestationId = _attestations.length;
        _attestations.push(
            Attestation({
                modelId: modelId,
                modelHash: modelHash,
                dataset: dataset,
                samples: SafeCast.toUint32(samples),
                correct: SafeCast.toUint32(correct),
                attester: msg.sender,
                blockNumber: SafeCast.toUint64(block.number),
                verifier: cfg.verifier
            })
        );
        _byModel[modelId].push(attestationId);
        _byDataset[modelId][dataset] = attestationId + 1;
        emit Attested(attestationId, modelId, dataset, modelHash, samples, correct, msg.sender);
    }

    /// @inheritdoc IBenchmarkRegistry
    function verifierOf(uint256 modelId, uint256 samples) external view returns (VerifierConfig memory) {
        return _verifiers[modelId][samples];
    }

    /// @inheritdoc IBenchmarkRegistry
    function attestationCount() external view returns (uint256) {
        return _attestations.length;
    }

    /// @inheritdoc IBenchmarkRegistry
    function getAttestation(uint256 attestationId) external view returns (Attestation memory) {
        if (attestationId >= _attestations.length) revert BenchmarkRegistryUnknownAttestation(attestationId);
        return _attestations[attestationId];
    }

    /// @inheritdoc IBenchmarkRegistry
    function attestationsOf(uint256 modelId) external view returns (uint256[] memory) {
        return _byModel[modelId];
    }

    /// @inheritdoc IBenchmarkRegistry
    function attestationFor(
        uint256 modelId,
        bytes32 dataset
    ) external view returns (bool found, Attestation memory attestation) {
        uint256 id = _byDataset[modelId][dataset];
        if (id == 0) return (false, attestation);
        return (true, _attestations[id - 1]);
    }

    /// @inheritdoc IBenchmarkRegistry
    function modelRegistry() external view returns (IModelRegistry) {
        return _models;
    }

    function _requireCode(IBenchmarkVerifier verifier, bytes32 expected) private view {
        bytes32 actual = address(verifier).codehash;
        if (actual != expected) revert BenchmarkRegistryVerifierCodeMismatch(address(verifier), expected, actual);
    }
}
