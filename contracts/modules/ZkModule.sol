// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC165Checker} from "@openzeppelin/contracts/utils/introspection/ERC165Checker.sol";
import {IInferenceVerifier} from "../interfaces/IInferenceVerifier.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IVerificationModule} from "../interfaces/IVerificationModule.sol";
import {IZkModule} from "../interfaces/IZkModule.sol";
import {VerimlOutput} from "../libraries/VerimlOutput.sol";

/// @title ZkModule
/// @notice Proof of AI verification: Groth16 proofs checked by per-model verifiers from verifier-gen.
contract ZkModule is IZkModule {
    /// @notice An accepted result.
    struct Accepted {
        address operator;
        bytes output;
    }

    address private immutable _market;
    IModelRegistry private immutable _registry;

    mapping(uint256 requestId => Accepted) private _accepted;

    constructor(address market_, IModelRegistry registry_) {
        _market = market_;
        _registry = registry_;
    }

    /// @inheritdoc IVerificationModule
    function validateModelConfig(uint256 modelId, bytes calldata config) external view {
        ZkConfig memory cfg = abi.decode(config, (ZkConfig));
        IInferenceVerifier verifier = cfg.verifier;
        if (address(verifier).code.length == 0) revert ZkModuleNoVerifier(address(verifier));
        _requireCode(cfg);
        // INVARIANT: only a contract that declares the interface this module calls is registered as a verifier
        // (an older or foreign verifier would make every submission revert, and operators lose their stake).
        if (!ERC165Checker.supportsInterface(address(verifier), type(IInferenceVerifier).interfaceId)) {
            revert ZkModuleNotAnInferenceVerifier(address(verifier));
        }
        bytes32 registered = _registry.getModel(modelId).modelHash;
        bytes32 bound = verifier.MODEL_HASH();
        // INVARIANT: a model's proofs are checked by a verifier built from exactly that model.
        if (bound != registered) revert ZkModuleModelMismatch(modelId, registered, bound);
    }

    /// @inheritdoc IVerificationModule
    /// @dev Proofs are checked on submission; there is no third party to pay.
    function verificationFee(bytes calldata, uint256) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IVerificationModule
    function onSubmit(Submission calldata submission, bytes calldata output, bytes calldata proof) external {
        if (msg.sender != _market) revert ZkModuleOnlyMarket(msg.sender);
        uint256 requestId = submission.requestId;
        int256[] memory values = _decodeOutput(requestId, output);
        ZkProof memory zk = abi.decode(proof, (ZkProof));
        bytes32 submitted = keccak256(zk.input);
        // INVARIANT: the proof is about the request's own input, not one the operator chose.
        if (submitted != submission.inputHash) {
            revert ZkModuleInputMismatch(requestId, submission.inputHash, submitted);
        }
        ZkConfig memory cfg = abi.decode(submission.config, (ZkConfig));
        // INVARIANT: the proof is checked by exactly the verification key the model's config pins.
        _requireCode(cfg);
        if (!cfg.verifier.verifyInference(zk.a, zk.b, zk.c, zk.input, values)) revert ZkModuleInvalidProof(requestId);
        _accepted[requestId] = Accepted({operator: submission.operator, output: output});
        emit ProofVerified(requestId, submission.modelId, submission.operator, output);
    }

    /// @inheritdoc IVerificationModule
    function isFinal(uint256 requestId) external view returns (bool) {
        return _accepted[requestId].operator != address(0);
    }

    /// @inheritdoc IVerificationModule
    function settlement(uint256 requestId) external view returns (Settlement memory result) {
        Accepted storage accepted = _accepted[requestId];
        if (accepted.operator == address(0)) revert ZkModuleNotFinal(requestId);
        result.accepted = true;
        result.output = accepted.output;
        result.payee = accepted.operator;
    }

    function _requireCode(ZkConfig memory cfg) private view {
        bytes32 actual = address(cfg.verifier).codehash;
        if (actual != cfg.verifierCodeHash) {
            revert ZkModuleVerifierCodeMismatch(address(cfg.verifier), cfg.verifierCodeHash, actual);
        }
    }

    /// @dev The output as int256[], accepting only its canonical ABI encoding (one encoding per output).
    function _decodeOutput(uint256 requestId, bytes calldata output) private pure returns (int256[] memory values) {
        bool ok;
        (ok, values) = VerimlOutput.tryDecode(output);
        if (!ok) revert ZkModuleBadOutput(requestId, output.length);
    }

    /// @notice The market this module serves.
    function market() external view returns (address) {
        return _market;
    }
}
