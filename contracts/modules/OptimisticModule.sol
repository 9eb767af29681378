// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IActiveClock} from "../interfaces/IActiveClock.sol";
import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IOneStepExecutor} from "../interfaces/IOneStepExecutor.sol";
import {IOptimisticModule} from "../interfaces/IOptimisticModule.sol";
import {IStakingVault} from "../interfaces/IStakingVault.sol";
import {IVerificationModule} from "../interfaces/IVerificationModule.sol";
import {VerimlOutput} from "../libraries/VerimlOutput.sol";
import {TraceMerkle} from "./optimistic/TraceMerkle.sol";

/// @title OptimisticModule
/// @notice opML: challenge windows, bonds, and an interactive dissection game down to one element
/// that the chain recomputes (see IOptimisticModule). Must be authorised in the StakingVault.
contract OptimisticModule is IOptimisticModule, Ownable2Step, ReentrancyGuard {
    /// @notice Tree levels descended per reveal/pick round (the operator reveals 2^3 = 8 nodes).
    uint8 public constant LEVELS_PER_MOVE = 3;
    /// @dev Most tensors a config may declare, and most elements per tensor (keeps depths and positions small).
    uint256 private constant _MAX_TENSORS = 1 << 16;
    uint256 private constant _MAX_ELEMENTS = 1 << 24;
    /// @dev Longest challenge window and chess clock.
    uint64 private constant _MAX_WINDOW = 30 days;
    /// @notice Shortest challenge window and dispute clock a model config may set: a model owner must not be
    /// able to set a clock no party can move within, and lose an honest party its stake on time.
    uint64 public constant MIN_TIME = 5 minutes;

    address private immutable _market;
    IModelRegistry private immutable _registry;
    IStakingVault private immutable _vault;
    IOneStepExecutor private immutable _executor;

    uint256 private _minChallengerBond;
    mapping(uint256 requestId => Result) private _results;
    mapping(uint256 requestId => OptimisticConfig) private _configs;
    mapping(uint256 requestId => bytes) private _outputs;
    mapping(uint256 requestId => mapping(address challenger => Game)) private _games;
    mapping(uint256 requestId => address[]) private _challengers;

    constructor(
        address initialOwner,
        address market_,
        IModelRegistry registry_,
        IStakingVault vault_,
        IOneStepExecutor executor_,
        uint256 minChallengerBond_
    ) Ownable(initialOwner) {
        _market = market_;
        _registry = registry_;
        _vault = vault_;
        _executor = executor_;
        _setMinChallengerBond(minChallengerBond_);
    }

    // ------------------------------------------------------------------ IVerificationModule

    /// @inheritdoc IVerificationModule
    function validateModelConfig(uint256 modelId, bytes calldata config) external view {
        OptimisticConfig memory cfg = abi.decode(config, (OptimisticConfig));
        uint256 n = cfg.tensorSizes.length;
        // INVARIANT: every game is bounded in time (window, clocks) and the trace has an input and an output.
        if (
            cfg.challengeWindow < MIN_TIME ||
            cfg.challengeWindow > _MAX_WINDOW ||
            cfg.clock < MIN_TIME ||
            cfg.clock > _MAX_WINDOW ||
            n < 2 ||
            n > _MAX_TENSORS
        ) {
            revert OptimisticModuleBadConfig(modelId);
        }
        for (uint256 i = 0; i < n; ++i) {
            if (cfg.tensorSizes[i] == 0 || cfg.tensorSizes[i] > _MAX_ELEMENTS)
                revert OptimisticModuleBadConfig(modelId);
        }
        // INVARIANT: a challenger always has something at stake, so sybil games cost their openers.
        if (cfg.challengerBond < _minChallengerBond) {
            revert OptimisticModuleBondTooLow(cfg.challengerBond, _minChallengerBond);
        }
        bytes32 registered = _registry.getModel(modelId).modelHash;
        bytes32 computed = TraceMerkle.modelHash(cfg.leafCount, cfg.paramRoot, cfg.tensorSizes);
        // INVARIANT: the shapes and the model tree a dispute is judged by are exactly the registered model's.
        if (computed != registered) revert OptimisticModuleModelMismatch(modelId, registered, computed);
    }

    /// @inheritdoc IVerificationModule
    /// @dev Disputes are paid from bonds and the operator's stake, not from an escrowed fee.
    function verificationFee(bytes calldata, uint256) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IVerificationModule
    function onSubmit(Submission calldata submission, bytes calldata output, bytes calldata proof) external {
        if (msg.sender != _market) revert OptimisticModuleOnlyMarket(msg.sender);
        uint256 requestId = submission.requestId;
        OptimisticConfig memory cfg = abi.decode(submission.config, (OptimisticConfig));
        OptimisticProof memory p = abi.decode(proof, (OptimisticProof));
        uint256 last = cfg.tensorSizes.length - 1;
        // INVARIANT: the delivered output is exactly the last tensor of the committed trace, so disputing
        // the trace disputes the output.
        if (!_outputInTrace(output, last, cfg.tensorSizes, p)) {
            revert OptimisticModuleOutputNotInTrace(requestId, keccak256(output), p.traceRoot);
        }
        uint64 deadline = _now() + cfg.challengeWindow;
        _results[requestId] = Result({
            operator: submission.operator,
            challengeDeadline: deadline,
            clock: cfg.clock,
            operatorLost: false,
            openGames: 0,
            winner: address(0),
            modelId: submission.modelId,
            challengerBond: cfg.challengerBond,
            traceRoot: p.traceRoot,
            modelHash: _registry.getModel(submission.modelId).modelHash,
            inputHash: submission.inputHash,
            outputHash: keccak256(output)
        });
        _configs[requestId] = cfg;
        _outputs[requestId] = output;
        emit ResultProposed(requestId, submission.modelId, submission.operator, output, p.traceRoot, deadline);
    }

    /// @inheritdoc IVerificationModule
    function isFinal(uint256 requestId) public view returns (bool) {
        Result storage r = _results[requestId];
        if (r.operator == address(0)) return false;
        return r.operatorLost || (_now() >= r.challengeDeadline && r.openGames == 0);
    }

    /// @inheritdoc IVerificationModule
    function settlement(uint256 requestId) external view returns (Settlement memory s) {
        if (!isFinal(requestId)) revert OptimisticModuleNotFinal(requestId);
        Result storage r = _results[requestId];
        if (r.operatorLost) {
            s.operatorSlash = IInferenceMarket(_market).getRequest(requestId).operatorStake;
            s.slashBeneficiary = r.winner;
        } else {
            s.accepted = true;
            s.output = _outputs[requestId];
            s.payee = r.operator;
        }
    }

    // ------------------------------------------------------------------ dispute game

    /// @inheritdoc IOptimisticModule
    function challenge(uint256 requestId) external nonReentrant {
        Result storage r = _requireResult(requestId);
        // INVARIANT: challenges only inside the window, and never after the operator already lost.
        if (r.operatorLost || _now() >= r.challengeDeadline) {
            revert OptimisticModuleChallengeClosed(requestId, r.challengeDeadline);
        }
        Game storage g = _games[requestId][msg.sender];
        if (msg.sender == r.operator || g.phase != Phase.None) {
            revert OptimisticModuleCannotChallenge(requestId, msg.sender);
        }
        g.phase = Phase.Trace;
        g.operatorToMove = true;
        g.depth = TraceMerkle.depthFor(_configs[requestId].tensorSizes.length);
        g.lastMoveAt = _now();
        g.operatorClock = r.clock;
        g.challengerClock = r.clock;
        g.node = r.traceRoot;
        r.openGames += 1;
        _challengers[requestId].push(msg.sender);
        emit Challenged(requestId, msg.sender, r.operator, r.challengerBond);
        _vault.lock(bondLockId(requestId, msg.sender), msg.sender, r.challengerBond);
    }

    /// @inheritdoc IOptimisticModule
    function reveal(uint256 requestId, address challenger, bytes32[] calldata children) external {
        Result storage r = _requireResult(requestId);
        Game storage g = _requireLiveGame(requestId, challenger, r);
        if (msg.sender != r.operator || !g.operatorToMove || g.phase == Phase.OneStep) {
            revert OptimisticModuleNotYourMove(requestId, challenger, msg.sender);
        }
        _charge(g, requestId, challenger);
        uint8 m = _levelsThisMove(g);
        bytes32 computed = children.length == (uint256(1) << m) ? _revealedRoot(requestId, g, children) : bytes32(0);
        // INVARIANT: the operator's revealed descendants are consistent with what it committed before.
        if (computed != g.node) revert OptimisticModuleInconsistentReveal(requestId, challenger, g.node, computed);
        g.revealed = keccak256(abi.encodePacked(children));
        g.operatorToMove = false;
        g.moves += 1;
        emit ChildrenRevealed(requestId, challenger, g.level, g.position, children);
    }

    /// @inheritdoc IOptimisticModule
    function pick(uint256 requestId, bytes32[] calldata children, uint256 index) external nonReentrant {
        Result storage r = _requireResult(requestId);
        Game storage g = _requireLiveGame(requestId, msg.sender, r);
        if (g.operatorToMove || g.phase == Phase.OneStep) {
            revert OptimisticModuleNotYourMove(requestId, msg.sender, msg.sender);
        }
        if (keccak256(abi.encodePacked(children)) != g.revealed || index >= children.length) {
            revert OptimisticModuleBadPick(requestId, msg.sender, index);
        }
        _charge(g, requestId, msg.sender);
        uint8 m = _levelsThisMove(g);
        g.node = children[index];
        g.level += m;
        g.position = uint64((uint256(g.position) << m) | index);
        g.revealed = bytes32(0);
        g.moves += 1;
        emit ChildPicked(requestId, msg.sender, g.level, g.position);
        if (g.level < g.depth) {
            g.operatorToMove = true;
            return;
        }
        uint32[] storage sizes = _configs[requestId].tensorSizes;
        if (g.phase == Phase.Trace) {
            if (g.position >= sizes.length) return _resolvePadding(requestId, msg.sender, g, r);
            g.phase = Phase.Tensor;
            g.tensor = uint32(g.position);
            g.depth = TraceMerkle.depthFor(sizes[g.tensor]);
            g.level = 0;
            g.position = 0;
            emit TensorDisputed(requestId, msg.sender, g.tensor, g.node);
            if (g.depth > 0) {
                g.operatorToMove = true;
                return;
            }
        } else if (g.position >= sizes[g.tensor]) {
            return _resolvePadding(requestId, msg.sender, g, r);
        }
        // The disputed element is reached: the challenger (or anyone) must now run the one-step.
        g.phase = Phase.OneStep;
        g.operatorToMove = false;
    }

    /// @inheritdoc IOptimisticModule
    function oneStep(
        uint256 requestId,
        address challenger,
        IOneStepExecutor.OneStepProof calldata proof
    ) external nonReentrant {
        Result storage r = _requireResult(requestId);
        Game storage g = _requireLiveGame(requestId, challenger, r);
        if (g.phase != Phase.OneStep) revert OptimisticModuleNotYourMove(requestId, challenger, msg.sender);
        OptimisticConfig storage cfg = _configs[requestId];
        IOneStepExecutor.Step memory step = IOneStepExecutor.Step({
            modelHash: r.modelHash,
            leafCount: cfg.leafCount,
            paramRoot: cfg.paramRoot,
            traceRoot: r.traceRoot,
            inputHash: r.inputHash,
            tensor: g.tensor,
            element: g.position
        });
        (bool executable, int256 computed) = _executor.execute(step, cfg.tensorSizes, proof);
        // A one-element tensor's tree is its leaf: the node under dispute is then the tensor's trace leaf.
        bytes32 leaf = TraceMerkle.elementLeaf(computed);
        if (g.depth == 0) leaf = TraceMerkle.tensorLeaf(g.tensor, 1, leaf);
        // INVARIANT: an element the chain cannot recompute counts against the operator who served the model.
        bool operatorCorrect = executable && leaf == g.node;
        g.moves += 1;
        emit OneStepChecked(requestId, challenger, g.tensor, g.position, computed, operatorCorrect);
        _resolve(requestId, challenger, g, r, !operatorCorrect, executable ? Reason.OneStep : Reason.NotExecutable);
    }

    /// @inheritdoc IOptimisticModule
    function timeout(uint256 requestId, address challenger) external nonReentrant {
        Result storage r = _requireResult(requestId);
        Game storage g = _requireLiveGame(requestId, challenger, r);
        uint64 elapsed = _now() - g.lastMoveAt;
        uint64 remaining = g.operatorToMove ? g.operatorClock : g.challengerClock;
        // INVARIANT: a party loses on time only once its whole clock is spent.
        if (elapsed <= remaining) revert OptimisticModuleClockRunning(requestId, challenger, elapsed, remaining);
        bool operatorTimedOut = g.operatorToMove;
        _resolve(
            requestId,
            challenger,
            g,
            r,
            operatorTimedOut,
            operatorTimedOut ? Reason.OperatorTimeout : Reason.ChallengerTimeout
        );
    }

    /// @inheritdoc IOptimisticModule
    function releaseBond(uint256 requestId, address challenger) external nonReentrant {
        Result storage r = _requireResult(requestId);
        Game storage g = _games[requestId][challenger];
        if (!r.operatorLost || g.phase == Phase.None || g.phase == Phase.Resolved) {
            revert OptimisticModuleBondNotReleasable(requestId, challenger);
        }
        g.phase = Phase.Resolved;
        g.outcome = Outcome.Cancelled;
        g.reason = Reason.OperatorLostElsewhere;
        r.openGames -= 1;
        emit GameResolved(requestId, challenger, Outcome.Cancelled, Reason.OperatorLostElsewhere, g.moves);
        _vault.unlock(bondLockId(requestId, challenger));
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IOptimisticModule
    function getResult(uint256 requestId) external view returns (Result memory) {
        return _results[requestId];
    }

    /// @inheritdoc IOptimisticModule
    function getGame(uint256 requestId, address challenger) external view returns (Game memory) {
        return _games[requestId][challenger];
    }

    /// @inheritdoc IOptimisticModule
    function challengersOf(uint256 requestId) external view returns (address[] memory) {
        return _challengers[requestId];
    }

    /// @inheritdoc IOptimisticModule
    function configOf(uint256 requestId) external view returns (OptimisticConfig memory) {
        return _configs[requestId];
    }

    /// @inheritdoc IOptimisticModule
    function outputOf(uint256 requestId) external view returns (bytes memory) {
        return _outputs[requestId];
    }

    /// @inheritdoc IOptimisticModule
    function minChallengerBond() external view returns (uint256) {
        return _minChallengerBond;
    }

    /// @inheritdoc IOptimisticModule
    function setMinChallengerBond(uint256 bond) external onlyOwner {
        _setMinChallengerBond(bond);
    }

    /// @inheritdoc IOptimisticModule
    function bondLockId(uint256 requestId, address challenger) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), requestId, challenger));
    }

    /// @inheritdoc IOptimisticModule
    function oneStepExecutor() external view returns (IOneStepExecutor) {
        return _executor;
    }

    /// @notice The market this module serves.
    function market() external view returns (address) {
        return _market;
    }

    /// @notice The vault holding challenger bonds.
    function vault() external view returns (IStakingVault) {
        return _vault;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Whether `output` is abi.encode(int256[]) of exactly the last tensor's size and that tensor's leaf
    /// sits at position `last` of the trace tree, on a path exactly as long as the tree is deep.
    function _outputInTrace(
        bytes calldata output,
        uint256 last,
        uint32[] memory sizes,
        OptimisticProof memory p
    ) private pure returns (bool) {
        uint256 size = sizes[last];
        (bool ok, int256[] memory values) = VerimlOutput.tryDecode(output);
        if (!ok || values.length != size) return false;
        bytes32 leaf = TraceMerkle.tensorLeaf(last, size, TraceMerkle.elementRoot(values));
        uint256 depth = TraceMerkle.depthFor(sizes.length);
        if (p.outputSiblings.length != depth) return false;
        bytes32 h = leaf;
        uint256 k = last;
        for (uint256 i = 0; i < depth; ++i) {
            h =
                (k & 1) == 1
                    ? TraceMerkle.hashNode(TraceMerkle.TRACE_NODE, p.outputSiblings[i], h)
                    : TraceMerkle.hashNode(TraceMerkle.TRACE_NODE, h, p.outputSiblings[i]);
            k >>= 1;
        }
        return h == p.traceRoot;
    }

    /// @dev Root of the operator's revealed descendants: trace nodes in phase Trace, tensor nodes in phase
    /// Tensor, wrapped as the tensor's trace leaf when they are the top of its element tree.
    function _revealedRoot(
        uint256 requestId,
        Game storage g,
        bytes32[] calldata children
    ) private view returns (bytes32) {
        if (g.phase == Phase.Trace) return TraceMerkle.subtreeRoot(children, TraceMerkle.TRACE_NODE);
        bytes32 root = TraceMerkle.subtreeRoot(children, TraceMerkle.TENSOR_NODE);
        if (g.level > 0) return root;
        return TraceMerkle.tensorLeaf(g.tensor, _configs[requestId].tensorSizes[g.tensor], root);
    }

    /// @dev The market's active clock: stands still while the market is paused.
    function _now() private view returns (uint64) {
        return IActiveClock(_market).activeTime();
    }

    function _setMinChallengerBond(uint256 bond) private {
        if (bond == 0) revert OptimisticModuleZeroMinimumBond();
        _minChallengerBond = bond;
        emit MinChallengerBondSet(bond);
    }

    function _requireResult(uint256 requestId) private view returns (Result storage r) {
        r = _results[requestId];
        if (r.operator == address(0)) revert OptimisticModuleUnknownResult(requestId);
    }

    function _requireLiveGame(
        uint256 requestId,
        address challenger,
        Result storage r
    ) private view returns (Game storage g) {
        g = _games[requestId][challenger];
        if (g.phase == Phase.None || g.phase == Phase.Resolved)
            revert OptimisticModuleUnknownGame(requestId, challenger);
        // INVARIANT: once the operator lost a game the verdict is fixed; other games only release bonds.
        if (r.operatorLost) revert OptimisticModuleChallengeClosed(requestId, r.challengeDeadline);
    }

    /// @dev Chess clock: charges the mover the time since the last move.
    function _charge(Game storage g, uint256 requestId, address challenger) private {
        uint64 nowTs = _now();
        uint64 elapsed = nowTs - g.lastMoveAt;
        uint64 remaining = g.operatorToMove ? g.operatorClock : g.challengerClock;
        // INVARIANT: a party can only move while its clock has time left.
        if (elapsed > remaining) revert OptimisticModuleClockExpired(requestId, challenger, elapsed, remaining);
        if (g.operatorToMove) g.operatorClock = remaining - elapsed;
        else g.challengerClock = remaining - elapsed;
        g.lastMoveAt = nowTs;
    }

    function _levelsThisMove(Game storage g) private view returns (uint8) {
        uint8 left = g.depth - g.level;
        return left < LEVELS_PER_MOVE ? left : LEVELS_PER_MOVE;
    }

    /// @dev The challenger disputed a padding position: honest trees hold bytes32(0) there.
    function _resolvePadding(uint256 requestId, address challenger, Game storage g, Result storage r) private {
        _resolve(requestId, challenger, g, r, g.node != bytes32(0), Reason.Padding);
    }

    function _resolve(
        uint256 requestId,
        address challenger,
        Game storage g,
        Result storage r,
        bool challengerWon,
        Reason reason
    ) private {
        g.phase = Phase.Resolved;
        g.reason = reason;
        r.openGames -= 1;
        bytes32 lockId = bondLockId(requestId, challenger);
        if (challengerWon) {
            g.outcome = Outcome.ChallengerWon;
            r.operatorLost = true;
            r.winner = challenger;
            emit GameResolved(requestId, challenger, Outcome.ChallengerWon, reason, g.moves);
            _vault.unlock(lockId);
        } else {
            g.outcome = Outcome.OperatorWon;
            emit GameResolved(requestId, challenger, Outcome.OperatorWon, reason, g.moves);
            _vault.slash(lockId, r.challengerBond, r.operator);
            _vault.unlock(lockId);
        }
    }
}
