// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IActiveClock} from "../../interfaces/IActiveClock.sol";
import {IArbitrator} from "../../interfaces/IArbitrator.sol";
import {IModelRegistry} from "../../interfaces/IModelRegistry.sol";
import {IOneStepExecutor} from "../../interfaces/IOneStepExecutor.sol";
import {IOptimisticArbitrator} from "../../interfaces/IOptimisticArbitrator.sol";
import {VerimlOutput} from "../../libraries/VerimlOutput.sol";
import {TraceMerkle} from "../optimistic/TraceMerkle.sol";

/// @title OptimisticArbitrator
/// @notice The second IArbitrator: the two parties settle their disagreement with the opML dissection game
/// over their two execution traces, down to one element the OneStepExecutor recomputes. See
/// IOptimisticArbitrator.
contract OptimisticArbitrator is IOptimisticArbitrator, Ownable2Step {
    /// @notice Tree levels descended per round (each party reveals 2^3 = 8 nodes), as in the OptimisticModule.
    uint8 public constant LEVELS_PER_MOVE = 3;
    uint64 private constant _MAX_WINDOW = 7 days;
    /// @dev Most tensors / elements per tensor (keeps depths and positions small), as in the OptimisticModule.
    uint256 private constant _MAX_TENSORS = 1 << 16;
    uint256 private constant _MAX_ELEMENTS = 1 << 24;

    IModelRegistry private immutable _registry;
    IOneStepExecutor private immutable _executor;
    IActiveClock private immutable _clock;

    Parameters private _params;
    uint256 private _disputeCount;
    mapping(address client => bool) private _clients;
    mapping(bytes32 modelHash => ModelShape) private _shapes;
    mapping(uint256 disputeId => Dispute) private _disputes;

    constructor(
        address initialOwner,
        IModelRegistry registry_,
        IOneStepExecutor executor_,
        IActiveClock clock_,
        Parameters memory params
    ) Ownable(initialOwner) {
        if (address(registry_) == address(0) || address(executor_) == address(0) || address(clock_) == address(0)) {
            revert OptimisticArbitratorZeroAddress();
        }
        _registry = registry_;
        _executor = executor_;
        _clock = clock_;
        _setParameters(params);
    }

    // ---------------------------------------------------------------- IArbitrator

    /// @inheritdoc IArbitrator
    function openDispute(
        uint256 requestId,
        uint256 modelId,
        bytes32 inputHash,
        address[2] calldata parties,
        bytes32[2] calldata claims,
        address
    ) external returns (uint256 disputeId) {
        if (!_clients[msg.sender]) revert OptimisticArbitratorNotClient(msg.sender);
        if (claims[0] == claims[1]) revert OptimisticArbitratorSameClaims(claims[0]);
        disputeId = ++_disputeCount;
        Parameters memory params = _params;
        Dispute storage d = _disputes[disputeId];
        d.stage = Stage.Posting;
        d.deadline = _now() + params.postWindow;
        d.client = msg.sender;
        d.requestId = requestId;
        d.modelId = modelId;
        d.inputHash = inputHash;
        d.modelHash = _registry.getModel(modelId).modelHash;
        d.parties = parties;
        d.claims = claims;
        d.params = params;
        emit DisputeOpened(disputeId, msg.sender, requestId, modelId, inputHash, claims);
        // A model the arbitrator cannot replay (no commitment recorded) ends undecided: nobody can be shown wrong.
        if (_shapes[d.modelHash].tensorSizes.length == 0) _resolve(disputeId, d, false, 0, Reason.UnknownModel);
    }

    /// @inheritdoc IArbitrator
    function isResolved(uint256 disputeId) external view returns (bool) {
        return _disputes[disputeId].stage == Stage.Resolved;
    }

    /// @inheritdoc IArbitrator
    function ruling(uint256 disputeId) external view returns (Ruling memory result) {
        Dispute storage d = _disputes[disputeId];
        if (d.stage != Stage.Resolved) revert OptimisticArbitratorNotResolved(disputeId);
        result.decided = d.decided;
        result.outputHash = d.outputHash;
        if (d.winner != 0) {
            result.rewarded = new address[](1);
            result.rewarded[0] = d.parties[d.winner - 1];
        }
    }

    /// @inheritdoc IArbitrator
    /// @dev Posting, both whole clocks, the one-step window, and one second past each of those three
    /// deadlines for the `timeout` that ends a stalled stage.
    function maxResolutionTime() external view returns (uint64) {
        Parameters memory p = _params;
        return p.postWindow + 2 * p.clock + p.oneStepWindow + 3;
    }

    /// @inheritdoc IArbitrator
    function supportsModel(uint256 modelId) external view returns (bool) {
        return _shapes[_registry.getModel(modelId).modelHash].tensorSizes.length != 0;
    }

    // ---------------------------------------------------------------- game

    /// @inheritdoc IOptimisticArbitrator
    function postTrace(
        uint256 disputeId,
        bytes32 traceRoot,
        bytes calldata output,
        bytes32[] calldata outputSiblings
    ) external {
        Dispute storage d = _requireDispute(disputeId);
        uint256 side = _sideOf(d, msg.sender);
        if (d.stage != Stage.Posting || side > 1 || d.traceRoots[side] != bytes32(0)) {
            revert OptimisticArbitratorNotYourMove(disputeId, msg.sender);
        }
        if (_now() > d.deadline) revert OptimisticArbitratorWindowClosed(disputeId, d.deadline);
        uint32[] storage sizes = _shapes[d.modelHash].tensorSizes;
        uint8 depth = TraceMerkle.depthFor(sizes.length);
        // INVARIANT: a posted trace holds the party's own claim as its last tensor, at the depth the game
        // descends, so the two traces differ at or before the last tensor and losing the game loses the claim.
        if (
            traceRoot == bytes32(0) ||
            keccak256(output) != d.claims[side] ||
            _outputLeafRoot(output, sizes, outputSiblings, depth) != traceRoot
        ) {
            revert OptimisticArbitratorClaimNotInTrace(disputeId, msg.sender, traceRoot);
        }
        d.traceRoots[side] = traceRoot;
        emit TracePosted(disputeId, msg.sender, traceRoot);
        if (d.traceRoots[1 - side] == bytes32(0)) return;
        d.stage = Stage.Trace;
        d.depth = depth;
        d.nodes = d.traceRoots;
        d.lastMoveAt = _now();
        d.clocks = [d.params.clock, d.params.clock];
        d.deadline = 0;
    }

    /// @inheritdoc IOptimisticArbitrator
    function reveal(uint256 disputeId, bytes32[] calldata children, bytes32[] calldata opponentChildren) external {
        Dispute storage d = _requireDispute(disputeId);
        bool isB = d.bToMove;
        uint256 side = isB ? 1 : 0;
        if ((d.stage != Stage.Trace && d.stage != Stage.Tensor) || msg.sender != d.parties[side]) {
            revert OptimisticArbitratorNotYourMove(disputeId, msg.sender);
        }
        _charge(d, disputeId, side);
        uint8 m = _levelsThisMove(d);
        bytes32 computed = children.length == (uint256(1) << m) ? _revealedRoot(d, children) : bytes32(0);
        // INVARIANT: each party's revealed descendants are consistent with what it committed before.
        if (computed != d.nodes[side]) {
            revert OptimisticArbitratorInconsistentReveal(disputeId, msg.sender, d.nodes[side], computed);
        }
        d.moves += 1;
        emit ChildrenRevealed(disputeId, msg.sender, d.level, d.position, children);
        if (!isB) {
            d.revealed = keccak256(abi.encodePacked(children));
            d.bToMove = true;
            return;
        }
        if (keccak256(abi.encodePacked(opponentChildren)) != d.revealed) {
            revert OptimisticArbitratorWrongOpponentReveal(disputeId);
        }
        uint256 index = _firstDifference(opponentChildren, children);
        d.nodes = [opponentChildren[index], children[index]];
        _descend(disputeId, d, m, index);
    }

    /// @inheritdoc IOptimisticArbitrator
    function oneStep(uint256 disputeId, uint8 side, IOneStepExecutor.OneStepProof calldata proof) external {
        Dispute storage d = _requireDispute(disputeId);
        if (d.stage != Stage.OneStep || side > 1) revert OptimisticArbitratorNotYourMove(disputeId, msg.sender);
        if (_now() > d.deadline) revert OptimisticArbitratorWindowClosed(disputeId, d.deadline);
        // INVARIANT: every tensor before the disputed one has the same root in both traces (the descent always
        // takes the leftmost difference), so the recomputation is the same against either trace root.
        ModelShape storage shape = _shapes[d.modelHash];
        IOneStepExecutor.Step memory step = IOneStepExecutor.Step({
            modelHash: d.modelHash,
            leafCount: shape.leafCount,
            paramRoot: shape.paramRoot,
            traceRoot: d.traceRoots[side],
            inputHash: d.inputHash,
            tensor: d.tensor,
            element: d.position
        });
        (bool executable, int256 computed) = _executor.execute(step, shape.tensorSizes, proof);
        d.moves += 1;
        emit OneStepChecked(disputeId, d.tensor, d.position, computed);
        if (!executable) return _resolve(disputeId, d, false, 0, Reason.NotExecutable);
        // A one-element tensor's tree is its leaf: the nodes under dispute are then the tensor's trace leaves.
        bytes32 leaf = TraceMerkle.elementLeaf(computed);
        if (d.depth == 0) leaf = TraceMerkle.tensorLeaf(d.tensor, 1, leaf);
        _judge(disputeId, d, leaf, Reason.OneStep);
    }

    /// @inheritdoc IOptimisticArbitrator
    function timeout(uint256 disputeId) external {
        Dispute storage d = _requireDispute(disputeId);
        if (!canTimeout(disputeId)) revert OptimisticArbitratorNothingDue(disputeId, d.stage);
        Stage stage = d.stage;
        if (stage == Stage.Posting) {
            // At most one party posted: it wins; with none, nobody is shown right.
            bool aPosted = d.traceRoots[0] != bytes32(0);
            bool bPosted = d.traceRoots[1] != bytes32(0);
            _resolve(disputeId, d, aPosted || bPosted, aPosted ? 1 : (bPosted ? 2 : 0), Reason.NoTrace);
        } else if (stage == Stage.OneStep) {
            _resolve(disputeId, d, false, 0, Reason.OneStepMissed);
        } else {
            // INVARIANT: a party loses on time only once its whole clock is spent; the other party wins.
            _resolve(disputeId, d, true, d.bToMove ? 1 : 2, Reason.Timeout);
        }
    }

    // ---------------------------------------------------------------- governance and models

    /// @inheritdoc IOptimisticArbitrator
    function setModelCommitment(uint32 leafCount, bytes32 paramRoot, uint32[] calldata tensorSizes) external {
        uint256 n = tensorSizes.length;
        bytes32 modelHash = TraceMerkle.modelHash(leafCount, paramRoot, tensorSizes);
        // INVARIANT: like the modelHash, a model's shapes never change once disputes can rely on them.
        if (_shapes[modelHash].tensorSizes.length != 0 || n < 2 || n > _MAX_TENSORS) {
            revert OptimisticArbitratorBadTensorSizes(modelHash);
        }
        for (uint256 i = 0; i < n; ++i) {
            if (tensorSizes[i] == 0 || tensorSizes[i] > _MAX_ELEMENTS)
                revert OptimisticArbitratorBadTensorSizes(modelHash);
        }
        // Keyed by the hash they are the preimage of: anyone may record them, nobody can record wrong ones.
        _shapes[modelHash] = ModelShape({leafCount: leafCount, paramRoot: paramRoot, tensorSizes: tensorSizes});
        emit ModelCommitmentSet(modelHash, leafCount, paramRoot, tensorSizes);
    }

    /// @inheritdoc IOptimisticArbitrator
    function setClient(address client, bool authorised) external onlyOwner {
        if (client == address(0)) revert OptimisticArbitratorZeroAddress();
        _clients[client] = authorised;
        emit ClientAuthorised(client, authorised);
    }

    /// @inheritdoc IOptimisticArbitrator
    function setParameters(Parameters calldata params) external onlyOwner {
        _setParameters(params);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IOptimisticArbitrator
    function canTimeout(uint256 disputeId) public view returns (bool) {
        Dispute storage d = _disputes[disputeId];
        Stage stage = d.stage;
        if (stage == Stage.Posting || stage == Stage.OneStep) return _now() > d.deadline;
        if (stage != Stage.Trace && stage != Stage.Tensor) return false;
        return _now() - d.lastMoveAt > d.clocks[d.bToMove ? 1 : 0];
    }

    /// @inheritdoc IOptimisticArbitrator
    function getDispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @inheritdoc IOptimisticArbitrator
    function modelShapeOf(bytes32 modelHash) external view returns (ModelShape memory) {
        return _shapes[modelHash];
    }

    /// @inheritdoc IOptimisticArbitrator
    function clock() external view returns (IActiveClock) {
        return _clock;
    }

    /// @inheritdoc IOptimisticArbitrator
    function parameters() external view returns (Parameters memory) {
        return _params;
    }

    /// @inheritdoc IOptimisticArbitrator
    function isClient(address client) external view returns (bool) {
        return _clients[client];
    }

    /// @inheritdoc IOptimisticArbitrator
    function disputeCount() external view returns (uint256) {
        return _disputeCount;
    }

    /// @inheritdoc IOptimisticArbitrator
    function registry() external view returns (IModelRegistry) {
        return _registry;
    }

    /// @inheritdoc IOptimisticArbitrator
    function oneStepExecutor() external view returns (IOneStepExecutor) {
        return _executor;
    }

    // ---------------------------------------------------------------- internals

    /// @dev One round deeper into child `index` (the leftmost where the parties differ, whose hashes are already
    /// in `d.nodes`); switches from the trace tree to the disputed tensor's tree, or to the one-step, at the
    /// bottom of a tree.
    function _descend(uint256 disputeId, Dispute storage d, uint8 m, uint256 index) private {
        d.level += m;
        d.position = uint64((uint256(d.position) << m) | index);
        d.revealed = bytes32(0);
        d.bToMove = false;
        emit DisagreementLocated(disputeId, d.level, d.position, d.nodes);
        if (d.level < d.depth) return;
        uint32[] storage sizes = _shapes[d.modelHash].tensorSizes;
        if (d.stage == Stage.Trace) {
            // INVARIANT: the leftmost differing tensor is a real one: the last tensors (the claims) differ.
            d.stage = Stage.Tensor;
            d.tensor = uint32(d.position);
            d.depth = TraceMerkle.depthFor(sizes[d.tensor]);
            d.level = 0;
            d.position = 0;
            emit TensorDisputed(disputeId, d.tensor, d.nodes);
            if (d.depth > 0) return;
        } else if (d.position >= sizes[d.tensor]) {
            // Honest trees hold bytes32(0) at padding positions.
            return _judge(disputeId, d, bytes32(0), Reason.Padding);
        }
        d.stage = Stage.OneStep;
        d.deadline = _now() + d.params.oneStepWindow;
    }

    /// @dev The party whose disputed element is `truth` wins; neither matching means both were wrong.
    function _judge(uint256 disputeId, Dispute storage d, bytes32 truth, Reason reason) private {
        uint8 winner = d.nodes[0] == truth ? 1 : (d.nodes[1] == truth ? 2 : 0);
        _resolve(disputeId, d, true, winner, reason);
    }

    function _resolve(uint256 disputeId, Dispute storage d, bool decided, uint8 winner, Reason reason) private {
        d.stage = Stage.Resolved;
        d.reason = reason;
        d.decided = decided;
        d.winner = winner;
        d.deadline = 0;
        // INVARIANT: a decided ruling is the winner's own claim, or no output (0) when both parties were wrong.
        bytes32 outputHash = decided && winner != 0 ? d.claims[winner - 1] : bytes32(0);
        d.outputHash = outputHash;
        emit DisputeResolved(
            disputeId,
            decided,
            outputHash,
            winner == 0 ? address(0) : d.parties[winner - 1],
            reason,
            d.moves
        );
    }

    /// @dev Chess clock: charges the mover the time since the last move.
    function _charge(Dispute storage d, uint256 disputeId, uint256 side) private {
        uint64 nowTs = _now();
        uint64 elapsed = nowTs - d.lastMoveAt;
        uint64 remaining = d.clocks[side];
        // INVARIANT: a party can only move while its clock has time left.
        if (elapsed > remaining) revert OptimisticArbitratorClockExpired(disputeId, elapsed, remaining);
        d.clocks[side] = remaining - elapsed;
        d.lastMoveAt = nowTs;
    }

    function _levelsThisMove(Dispute storage d) private view returns (uint8) {
        uint8 left = d.depth - d.level;
        return left < LEVELS_PER_MOVE ? left : LEVELS_PER_MOVE;
    }

    /// @dev Root of a party's revealed descendants: trace nodes in stage Trace, tensor nodes in stage Tensor,
    /// wrapped as the tensor's trace leaf when they are the top of its element tree.
    function _revealedRoot(Dispute storage d, bytes32[] calldata children) private view returns (bytes32) {
        if (d.stage == Stage.Trace) return TraceMerkle.subtreeRoot(children, TraceMerkle.TRACE_NODE);
        bytes32 root = TraceMerkle.subtreeRoot(children, TraceMerkle.TENSOR_NODE);
        if (d.level > 0) return root;
        return TraceMerkle.tensorLeaf(d.tensor, _shapes[d.modelHash].tensorSizes[d.tensor], root);
    }

    /// @dev Trace root reached from the last tensor's leaf built from `output`, or 0 when `output` is not the
    /// canonical abi.encode(int256[]) of the last tensor's size or the path is not exactly `depth` long.
    function _outputLeafRoot(
        bytes calldata output,
        uint32[] storage sizes,
        bytes32[] calldata siblings,
        uint8 depth
    ) private view returns (bytes32) {
        uint256 last = sizes.length - 1;
        uint256 size = sizes[last];
        (bool ok, int256[] memory values) = VerimlOutput.tryDecode(output);
        if (!ok || values.length != size) return bytes32(0);
        bytes32 leaf = TraceMerkle.tensorLeaf(last, size, TraceMerkle.elementRoot(values));
        return TraceMerkle.leafRoot(leaf, last, depth, siblings, TraceMerkle.TRACE_NODE);
    }

    function _now() private view returns (uint64) {
        return _clock.activeTime();
    }

    /// @dev Index of the first differing node; one exists because both sets hash to different nodes.
    function _firstDifference(bytes32[] calldata a, bytes32[] calldata b) private pure returns (uint256 i) {
        while (a[i] == b[i]) ++i;
    }

    /// @dev 0 for party A, 1 for party B, 2 for anyone else.
    function _sideOf(Dispute storage d, address account) private view returns (uint256) {
        if (account == d.parties[0]) return 0;
        return account == d.parties[1] ? 1 : 2;
    }

    function _requireDispute(uint256 disputeId) private view returns (Dispute storage d) {
        d = _disputes[disputeId];
        if (d.stage == Stage.None) revert OptimisticArbitratorUnknownDispute(disputeId);
    }

    function _setParameters(Parameters memory params) private {
        if (
            params.postWindow == 0 ||
            params.postWindow > _MAX_WINDOW ||
            params.clock == 0 ||
            params.clock > _MAX_WINDOW ||
            params.oneStepWindow == 0 ||
            params.oneStepWindow > _MAX_WINDOW
        ) {
            revert OptimisticArbitratorInvalidParameters(params.postWindow, params.clock, params.oneStepWindow);
        }
        _params = params;
        emit ParametersSet(params);
    }
}
