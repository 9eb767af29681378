// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IOneStepExecutor} from "../interfaces/IOneStepExecutor.sol";
import {IOptimisticModule} from "../interfaces/IOptimisticModule.sol";
import {IStakingVault} from "../interfaces/IStakingVault.sol";
import {IVerificationModule} from "../interfaces/IVerificationModule.sol";
import {TraceMerkle} from "./optimistic/TraceMerkle.sol";

/// @title OptimisticModule
/// @notice opML: challenge windows, bonds, and an interactive dissection game down to one element
/// that the chain recomputes (see IOptimisticModule). Must be authorised in the StakingVault.
contract OptimisticModule is IOptimisticModule, ReentrancyGuard {
    /// @notice Tree levels descended per reveal/pick round (the operator reveals 2^3 = 8 nodes).
    uint8 public constant LEVELS_PER_MOVE = 3;
    /// @dev Most tensors / elements per tensor a config may declare (keeps depths and positions small).
    uint256 private constant _MAX_TENSORS = 1 << 16;

    address private immutable _market;
    IModelRegistry private immutable _registry;
    IStakingVault private immutable _vault;
    IOneStepExecutor private immutable _executor;

    mapping(uint256 requestId => Result) private _results;
    mapping(uint256 requestId => uint32[]) private _tensorSizes;
    mapping(uint256 requestId => mapping(address challenger => Game)) private _games;
    mapping(uint256 requestId => address[]) private _challengers;

    constructor(address market_, IModelRegistry registry_, IStakingVault vault_, IOneStepExecutor executor_) {
        _market = market_;
        _registry = registry_;
        _vault = vault_;
        _executor = executor_;
    }

    // ------------------------------------------------------------------ IVerificationModule

    /// @inheritdoc IVerificationModule
    function validateModelConfig(uint256 modelId, bytes calldata config) external pure {
        OptimisticConfig memory cfg = abi.decode(config, (OptimisticConfig));
        uint256 n = cfg.tensorSizes.length;
        // INVARIANT: every game is bounded in time (window, clocks) and the trace has an input and a label.
        if (cfg.challengeWindow == 0 || cfg.clock == 0 || n < 2 || n > _MAX_TENSORS || cfg.tensorSizes[n - 1] != 1) {
            revert OptimisticModuleBadConfig(modelId);
        }
        for (uint256 i = 0; i < n; ++i) {
            if (cfg.tensorSizes[i] == 0) revert OptimisticModuleBadConfig(modelId);
        }
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
        if (output.length != 32) revert OptimisticModuleBadOutput(requestId, output.length);
        uint256 label = abi.decode(output, (uint256));
        OptimisticProof memory p = abi.decode(proof, (OptimisticProof));
        OptimisticConfig memory cfg = abi.decode(submission.config, (OptimisticConfig));
        uint256 last = cfg.tensorSizes.length - 1;
        // INVARIANT: the delivered label is the last tensor of the committed trace, so disputing the
        // trace disputes the output.
        if (label > uint256(type(int256).max) || !_outputInTrace(label, last, p)) {
            revert OptimisticModuleOutputNotInTrace(requestId, label, p.traceRoot);
        }
        uint64 deadline = uint64(block.timestamp) + cfg.challengeWindow;
        _results[requestId] = Result({
            operator: submission.operator,
            challengeDeadline: deadline,
            clock: cfg.clock,
            operatorLost: false,
            openGames: 0,
            winner: address(0),
            modelId: submission.modelId,
            label: label,
            challengerBond: cfg.challengerBond,
            traceRoot: p.traceRoot,
            modelHash: _registry.getModel(submission.modelId).modelHash,
            inputHash: submission.inputHash
        });
        _tensorSizes[requestId] = cfg.tensorSizes;
        emit ResultProposed(requestId, submission.modelId, submission.operator, label, p.traceRoot, deadline);
    }

    /// @inheritdoc IVerificationModule
    function isFinal(uint256 requestId) public view returns (bool) {
        Result storage r = _results[requestId];
        if (r.operator == address(0)) return false;
        return r.operatorLost || (block.timestamp >= r.challengeDeadline && r.openGames == 0);
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
            s.output = abi.encode(r.label);
            s.payee = r.operator;
        }
    }

    // ------------------------------------------------------------------ dispute game

    /// @inheritdoc IOptimisticModule
    function challenge(uint256 requestId) external nonReentrant {
        Result storage r = _requireResult(requestId);
        // INVARIANT: challenges only inside the window, and never after the operator already lost.
        if (r.operatorLost || block.timestamp >= r.challengeDeadline) {
            revert OptimisticModuleChallengeClosed(requestId, r.challengeDeadline);
        }
        Game storage g = _games[requestId][msg.sender];
        if (msg.sender == r.operator || g.phase != Phase.None) {
            revert OptimisticModuleCannotChallenge(requestId, msg.sender);
        }
        g.phase = Phase.Trace;
        g.operatorToMove = true;
        g.depth = TraceMerkle.depthFor(_tensorSizes[requestId].length);
        g.lastMoveAt = uint64(block.timestamp);
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
        bytes32 computed = children.length == (uint256(1) << m) ? TraceMerkle.subtreeRoot(children) : bytes32(0);
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
        uint32[] storage sizes = _tensorSizes[requestId];
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
        IOneStepExecutor.Step memory step = IOneStepExecutor.Step({
            modelHash: r.modelHash,
            traceRoot: r.traceRoot,
            inputHash: r.inputHash,
            tensor: g.tensor,
            element: g.position
        });
        int256 computed = _executor.execute(step, _tensorSizes[requestId], proof);
        bool operatorCorrect = TraceMerkle.elementLeaf(computed) == g.node;
        g.moves += 1;
        emit OneStepChecked(requestId, challenger, g.tensor, g.position, computed, operatorCorrect);
        _resolve(requestId, challenger, g, r, !operatorCorrect, Reason.OneStep);
    }

    /// @inheritdoc IOptimisticModule
    function timeout(uint256 requestId, address challenger) external nonReentrant {
        Result storage r = _requireResult(requestId);
        Game storage g = _requireLiveGame(requestId, challenger, r);
        uint64 elapsed = uint64(block.timestamp) - g.lastMoveAt;
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
    function tensorSizesOf(uint256 requestId) external view returns (uint32[] memory) {
        return _tensorSizes[requestId];
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

    function _outputInTrace(uint256 label, uint256 last, OptimisticProof memory p) private pure returns (bool) {
        bytes32 h = TraceMerkle.elementLeaf(int256(label));
        uint256 k = last;
        for (uint256 i = 0; i < p.outputSiblings.length; ++i) {
            h =
                (k & 1) == 1
                    ? TraceMerkle.hashPair(p.outputSiblings[i], h)
                    : TraceMerkle.hashPair(h, p.outputSiblings[i]);
            k >>= 1;
        }
        return k == 0 && h == p.traceRoot;
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
        uint64 elapsed = uint64(block.timestamp) - g.lastMoveAt;
        uint64 remaining = g.operatorToMove ? g.operatorClock : g.challengerClock;
        // INVARIANT: a party can only move while its clock has time left.
        if (elapsed > remaining) revert OptimisticModuleClockExpired(requestId, challenger, elapsed, remaining);
        if (g.operatorToMove) g.operatorClock = remaining - elapsed;
        else g.challengerClock = remaining - elapsed;
        g.lastMoveAt = uint64(block.timestamp);
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
            if (r.challengerBond > 0) _vault.slash(lockId, r.challengerBond, r.operator);
            _vault.unlock(lockId);
        }
    }
}
