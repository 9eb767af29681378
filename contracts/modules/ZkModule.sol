// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC165Checker} from "@openzeppelin/contracts/utils/introspection/ERC165Checker.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IInferenceVerifier} from "../interfaces/IInferenceVerifier.sol";
import {IInstantVerificationModule} from "../interfaces/IInstantVerificationModule.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IVerificationModule} from "../interfaces/IVerificationModule.sol";
import {IZkModule} from "../interfaces/IZkModule.sol";
import {VerimlOutput} from "../libraries/VerimlOutput.sol";

/// @title ZkModule
/// @notice Proof of AI verification: Groth16 proofs checked by per-model verifiers from verifier-gen.
/// Results are final on submission: `onFulfill` / `onFulfillBatch` let the market settle in the same
/// transaction; `onSubmit` (the claim path) records the accepted result for `finalize`.
contract ZkModule is IZkModule, IERC165 {
    /// @notice An accepted result of the claim path.
    struct Accepted {
        address operator;
        bytes output;
    }

    /// @inheritdoc IZkModule
    uint256 public constant MAX_BATCH_SIZE = 64;
    /// @dev Bytes of abi.encode(ZkBatchProof) before its arrays' contents: the offset word and 10 head words.
    uint256 private constant _BATCH_PROOF_HEAD = 11 * 32;

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
        uint256 k = verifier.BATCH_SIZE();
        // INVARIANT: a batch is bounded, so one proof's gas is bounded.
        if (k == 0 || k > MAX_BATCH_SIZE) revert ZkModuleBadBatchSize(address(verifier), k);
    }

    /// @inheritdoc IVerificationModule
    /// @dev Proofs are checked on submission; there is no third party to pay.
    function verificationFee(bytes calldata, uint256) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IVerificationModule
    function onSubmit(Submission calldata submission, bytes calldata output, bytes calldata proof) external {
        _verifySingle(submission, output, proof);
        _accepted[submission.requestId] = Accepted({operator: submission.operator, output: output});
    }

    /// @inheritdoc IInstantVerificationModule
    function onFulfill(Submission calldata submission, bytes calldata output, bytes calldata proof) external {
        _verifySingle(submission, output, proof);
    }

    /// @inheritdoc IInstantVerificationModule
    function onFulfillBatch(
        BatchSubmission calldata batch,
        bytes calldata proof
    ) external returns (bytes[] memory outputs) {
        if (msg.sender != _market) revert ZkModuleOnlyMarket(msg.sender);
        ZkBatchProof calldata zk = _batchProofIn(proof);
        ZkConfig memory cfg = abi.decode(batch.config, (ZkConfig));
        // INVARIANT: the proof is checked by exactly the verification key the model's config pins.
        _requireCode(cfg);
        uint256 n = batch.requestIds.length;
        uint256 k = cfg.verifier.BATCH_SIZE();
        if (n == 0 || n > k || zk.inputs.length != k || zk.outputs.length != k) {
            revert ZkModuleBatchShape(n, zk.inputs.length, zk.outputs.length, k);
        }
        outputs = new bytes[](n);
        for (uint256 i = 0; i < n; ++i) {
            bytes calldata input = zk.inputs[i];
            int256[] calldata output = zk.outputs[i];
            // INVARIANT: a slot this module reads lies in the bytes forwarded to the verifier. Solidity admits a
            // negative (backward) element offset, which could reach the submission before `proof`; the verifier
            // could not follow it there, so the two sides would read different values.
            if (!_inForwarded(proof, input, output)) revert ZkModuleBadBatchSlot(i);
            bytes32 submitted = keccak256(input);
            // INVARIANT: slot i proves request i's own input, not one the operator chose.
            if (submitted != batch.inputHashes[i]) {
                revert ZkModuleInputMismatch(batch.requestIds[i], batch.inputHashes[i], submitted);
            }
            outputs[i] = abi.encode(output);
        }
        if (!_verifyBatch(cfg.verifier, proof)) revert ZkModuleInvalidBatchProof(batch.requestIds[0], n);
        emit BatchProofVerified(batch.modelId, batch.operator, batch.requestIds);
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

    /// @inheritdoc IERC165
    /// @dev The market settles a request in one transaction only when its module declares this.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IInstantVerificationModule).interfaceId;
    }

    /// @notice The market this module serves.
    function market() external view returns (address) {
        return _market;
    }

    /// @dev The single-result check shared by onSubmit and onFulfill; reverts to refuse.
    function _verifySingle(Submission calldata submission, bytes calldata output, bytes calldata proof) private {
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
        uint256 k = cfg.verifier.BATCH_SIZE();
        if (k != 1) revert ZkModuleBatchVerifier(requestId, k);
        if (!cfg.verifier.verifyInference(zk.a, zk.b, zk.c, zk.input, values)) revert ZkModuleInvalidProof(requestId);
        emit ProofVerified(requestId, submission.modelId, submission.operator, output);
    }

    /// @dev `proof` (abi.encode(ZkBatchProof)) read in place: a batch's slots are most of its calldata, and
    /// decoding them to memory and encoding them again for the verifier would cost more than the checks.
    /// Everything after the offset word is, byte for byte, the arguments of verifyInferences: _verifyBatch
    /// forwards exactly those bytes, and the verifier decodes them with the same ABI rules relative to the same
    /// start (`proof` is the last argument of this call, so both sides' bounds end at its end). So the input
    /// bytes hashed here, the inputs and outputs the verifier checks and the outputs delivered are the same
    /// values whatever offsets the encoding uses, as long as each slot read here starts inside the forwarded
    /// bytes (checked per slot in onFulfillBatch).
    function _batchProofIn(bytes calldata proof) private pure returns (ZkBatchProof calldata zk) {
        // An offset word (0x20), then the head: a, b, c (8 words) and the two arrays' offsets; a whole number of
        // words, as every ABI encoding is; each array's offset past the head and inside the proof. Strictness, so a
        // malformed proof gets this error and not a later one.
        if (proof.length < _BATCH_PROOF_HEAD || proof.length % 32 != 0 || uint256(bytes32(proof[:32])) != 0x20) {
            revert ZkModuleBadBatchProof(proof.length);
        }
        bool arraysInside;
        assembly ("memory-safe") {
            zk := add(proof.offset, 0x20)
            // Each array's length word after the head and inside the forwarded bytes, compared unsigned: Solidity
            // would follow a negative array offset to a header before `proof`, where the verifier cannot look.
            let last := sub(proof.length, 0x40)
            let inputsAt := calldataload(add(zk, 0x100))
            let outputsAt := calldataload(add(zk, 0x120))
            arraysInside := and(
                and(iszero(lt(inputsAt, 0x140)), iszero(gt(inputsAt, last))),
                and(iszero(lt(outputsAt, 0x140)), iszero(gt(outputsAt, last)))
            )
        }
        // INVARIANT: the arrays the module reads are the arrays the verifier decodes from the same bytes.
        if (!arraysInside) revert ZkModuleBadBatchProof(proof.length);
    }

    /// @dev Whether both arrays' data (and so their length words) start inside proof[32:], the bytes forwarded.
    function _inForwarded(
        bytes calldata proof,
        bytes calldata input,
        int256[] calldata output
    ) private pure returns (bool inside) {
        assembly ("memory-safe") {
            // data at >= proof[64]: the length word before it at >= proof[32]
            let first := add(proof.offset, 64)
            inside := iszero(or(lt(input.offset, first), lt(output.offset, first)))
        }
    }

    /// @dev verifyInferences on the arguments `proof` encodes (see _batchProofIn), forwarded as they are; the
    /// verifier's revert (a malformed slot, a value out of range) is passed on.
    function _verifyBatch(IInferenceVerifier verifier, bytes calldata proof) private view returns (bool) {
        (bool ok, bytes memory ret) = address(verifier).staticcall(
            bytes.concat(IInferenceVerifier.verifyInferences.selector, proof[32:])
        );
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return abi.decode(ret, (bool));
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
}
