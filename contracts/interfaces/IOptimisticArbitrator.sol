// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IActiveClock} from "./IActiveClock.sol";
import {IArbitrator} from "./IArbitrator.sol";
import {IModelRegistry} from "./IModelRegistry.sol";
import {IOneStepExecutor} from "./IOneStepExecutor.sol";

/// @title IOptimisticArbitrator
/// @notice The deterministic IArbitrator: the two parties of a dispute settle it with the opML dissection
/// game (the OptimisticModule's trace commitment, LEVELS_PER_MOVE levels per round, the same
/// OneStepExecutor) instead of a vote. No stake is locked here: the client slashes the parties.
///
/// 1. Posting. Each party posts the root of its execution trace (the commitment of an optimistic
///    submission, TraceMerkle) with its claimed output (abi.encode(int256[]) of the last tensor; its
///    keccak256 must be the party's claim) and the exact-length path of the last tensor's trace leaf,
///    which the contract computes from those values. A party that has not posted by `postWindow` loses;
///    if neither posted, the dispute ends undecided.
/// 2. Two-trace dissection. Both traces are descended together: party A (parties[0]) reveals the 2^m
///    descendants of its disputed node, then party B reveals its own; each set must hash to that
///    party's node. The contract itself takes the leftmost index where they differ (no party picks), so
///    the game always reaches the FIRST tensor where the traces differ (phase Trace) and then the first
///    element of that tensor where they differ (phase Tensor). All tensors before it are equal in both
///    traces, so the inputs of the disputed element are agreed.
/// 3. One step. Anyone runs the OneStepExecutor on the disputed element with the model's weights
///    (against the registry's modelHash), the request input (against the dispute's inputHash) and the
///    agreed input tensors (proven against either party's trace root: they are equal there). The party
///    whose element equals the recomputation wins; if neither does, both are wrong and the ruling is
///    decided with outputHash 0 (matches neither claim). A differing padding element is lost by the
///    party whose padding is not bytes32(0).
///
/// Ruling: the winner's claim (decided), rewarded = [winner]. An honest party (whose trace is the
/// reference interpreter's) always wins: it matches every recomputation. When both parties are wrong
/// the game only proves the loser wrong, so the winner's (also wrong) output may stand. Each party has
/// a chess clock of `clock` seconds for all its reveals; a party whose clock runs out loses (`timeout`,
/// anyone). The one-step must be run within `oneStepWindow`; otherwise the dispute ends undecided.
///
/// Per model, the arbitrator needs the preimage of the model hash (leaf count, model tree root, tensor
/// sizes, as in the optimistic config); anyone records it once (`setModelCommitment`, keyed by the hash it
/// is the preimage of). `supportsModel` is false until then, so a sampling config naming this arbitrator
/// for such a model is refused. Windows and clocks run on the market's active clock (stopped while paused).
interface IOptimisticArbitrator is IArbitrator {
    /// @notice The preimage of a model's hash that the one-step needs.
    struct ModelShape {
        uint32 leafCount;
        bytes32 paramRoot;
        uint32[] tensorSizes;
    }

    /// @notice Governance settings, snapshotted per dispute.
    /// @param postWindow Seconds after opening in which both parties must post their trace.
    /// @param clock Seconds each party may spend, in total, on its reveals.
    /// @param oneStepWindow Seconds after the disputed element is reached in which the one-step must run.
    struct Parameters {
        uint64 postWindow;
        uint64 clock;
        uint64 oneStepWindow;
    }

    /// @notice Where a dispute stands.
    enum Stage {
        None,
        Posting,
        Trace,
        Tensor,
        OneStep,
        Resolved
    }

    /// @notice Why a dispute ended.
    enum Reason {
        None,
        UnknownModel,
        NoTrace,
        Timeout,
        OneStep,
        Padding,
        OneStepMissed,
        NotExecutable
    }

    /// @notice One dispute. Index 0 of the pairs is party A (parties[0]), index 1 party B.
    /// @param bToMove Whose reveal is due (false: A's).
    /// @param depth Depth of the tree being descended; `level` levels done; `position` the node index.
    /// @param tensor The disputed tensor (phases Tensor and OneStep).
    /// @param deadline Posting deadline (Posting) or one-step deadline (OneStep).
    /// @param winner 1 + index of the winning party (0: none).
    /// @param nodes Each party's hash of the node under dispute.
    /// @param revealed keccak256 of A's pending revealed descendants (0 when none pending).
    struct Dispute {
        Stage stage;
        Reason reason;
        bool decided;
        bool bToMove;
        uint8 depth;
        uint8 level;
        uint8 winner;
        uint32 tensor;
        uint32 moves;
        uint64 position;
        uint64 deadline;
        uint64 lastMoveAt;
        uint64[2] clocks;
        address client;
        uint256 requestId;
        uint256 modelId;
        bytes32 inputHash;
        bytes32 modelHash;
        address[2] parties;
        bytes32[2] claims;
        bytes32[2] traceRoots;
        bytes32[2] nodes;
        bytes32 revealed;
        bytes32 outputHash;
        Parameters params;
    }

    /// @notice Emitted when governance authorises or revokes a client.
    event ClientAuthorised(address indexed client, bool authorised);
    /// @notice Emitted when governance changed the parameters.
    event ParametersSet(Parameters params);
    /// @notice Emitted when a model's commitment preimage was recorded.
    event ModelCommitmentSet(bytes32 indexed modelHash, uint32 leafCount, bytes32 paramRoot, uint32[] tensorSizes);
    /// @notice Emitted when a party posted its trace root.
    event TracePosted(uint256 indexed disputeId, address indexed party, bytes32 traceRoot);
    /// @notice Emitted when a party revealed the descendants of its disputed node.
    event ChildrenRevealed(
        uint256 indexed disputeId,
        address indexed party,
        uint8 level,
        uint64 position,
        bytes32[] children
    );
    /// @notice Emitted when the leftmost disagreement one round deeper was located.
    event DisagreementLocated(uint256 indexed disputeId, uint8 level, uint64 position, bytes32[2] nodes);
    /// @notice Emitted when the trace phase ended on the first differing tensor.
    event TensorDisputed(uint256 indexed disputeId, uint32 tensor, bytes32[2] roots);
    /// @notice Emitted when the one-step recomputation ran.
    event OneStepChecked(uint256 indexed disputeId, uint32 tensor, uint64 element, int256 computed);
    /// @notice Emitted when a dispute got its ruling.
    event DisputeResolved(
        uint256 indexed disputeId,
        bool decided,
        bytes32 outputHash,
        address winner,
        Reason reason,
        uint32 moves
    );

    /// @notice A zero address was given where a contract is required.
    error OptimisticArbitratorZeroAddress();
    /// @notice The caller is not an authorised client.
    error OptimisticArbitratorNotClient(address caller);
    /// @notice A window or clock is zero or above the maximum.
    error OptimisticArbitratorInvalidParameters(uint64 postWindow, uint64 clock, uint64 oneStepWindow);
    /// @notice Tensor sizes are malformed (fewer than two tensors, an empty or oversized tensor) or the
    /// model's commitment is already recorded.
    error OptimisticArbitratorBadTensorSizes(bytes32 modelHash);
    /// @notice The two claims are equal: nothing to arbitrate.
    error OptimisticArbitratorSameClaims(bytes32 claim);
    /// @notice No such dispute.
    error OptimisticArbitratorUnknownDispute(uint256 disputeId);
    /// @notice The dispute has no ruling yet.
    error OptimisticArbitratorNotResolved(uint256 disputeId);
    /// @notice The call does not fit the dispute's stage, the turn, or the caller.
    error OptimisticArbitratorNotYourMove(uint256 disputeId, address caller);
    /// @notice The window of this stage is over.
    error OptimisticArbitratorWindowClosed(uint256 disputeId, uint64 deadline);
    /// @notice The posted root does not hold the party's claimed output as its last tensor.
    error OptimisticArbitratorClaimNotInTrace(uint256 disputeId, address party, bytes32 traceRoot);
    /// @notice The mover's clock has run out; only `timeout` is left.
    error OptimisticArbitratorClockExpired(uint256 disputeId, uint64 elapsed, uint64 remaining);
    /// @notice The revealed descendants do not hash to the party's node (or have the wrong count).
    error OptimisticArbitratorInconsistentReveal(uint256 disputeId, address party, bytes32 expected, bytes32 computed);
    /// @notice The opponent's descendants passed by B are not the ones A revealed.
    error OptimisticArbitratorWrongOpponentReveal(uint256 disputeId);
    /// @notice Nothing is due yet: the party to move still has time, or the window is open.
    error OptimisticArbitratorNothingDue(uint256 disputeId, Stage stage);

    /// @notice A party posts its trace root, its claimed output (abi.encode(int256[]) of the last tensor,
    /// hashing to its claim) and the path of the last tensor's trace leaf.
    function postTrace(
        uint256 disputeId,
        bytes32 traceRoot,
        bytes calldata output,
        bytes32[] calldata outputSiblings
    ) external;

    /// @notice Reveal of the party to move: the 2^m descendants, m = min(LEVELS_PER_MOVE, depth - level),
    /// of its disputed node (left to right). B also passes A's pending reveal (`opponentChildren`, as
    /// emitted in ChildrenRevealed); the contract then descends into the leftmost differing child. A
    /// passes an empty `opponentChildren`.
    function reveal(uint256 disputeId, bytes32[] calldata children, bytes32[] calldata opponentChildren) external;

    /// @notice Recomputes the disputed element (anyone) against the trace root of party `side` (0 or 1).
    function oneStep(uint256 disputeId, uint8 side, IOneStepExecutor.OneStepProof calldata proof) external;

    /// @notice Ends a dispute whose posting window, mover's clock or one-step window is spent (anyone).
    function timeout(uint256 disputeId) external;

    /// @notice Anyone: records the preimage (leaf count, model tree root, tensor sizes) of a model hash; once.
    function setModelCommitment(uint32 leafCount, bytes32 paramRoot, uint32[] calldata tensorSizes) external;

    /// @notice Governance: authorises a client (a verification module) to open disputes.
    function setClient(address client, bool authorised) external;

    /// @notice Governance: parameters for disputes opened from now on.
    function setParameters(Parameters calldata params) external;

    /// @notice Whether `timeout` would end the dispute now.
    function canTimeout(uint256 disputeId) external view returns (bool);

    /// @notice A dispute.
    function getDispute(uint256 disputeId) external view returns (Dispute memory);

    /// @notice The recorded preimage of a model hash (empty tensorSizes when not recorded).
    function modelShapeOf(bytes32 modelHash) external view returns (ModelShape memory);

    /// @notice The clock windows and chess clocks run on.
    function clock() external view returns (IActiveClock);

    /// @notice Current parameters.
    function parameters() external view returns (Parameters memory);

    /// @notice Whether `client` may open disputes.
    function isClient(address client) external view returns (bool);

    /// @notice Disputes opened so far (the last id).
    function disputeCount() external view returns (uint256);

    /// @notice The model registry (model hashes and owners).
    function registry() external view returns (IModelRegistry);

    /// @notice The one-step executor shared with the OptimisticModule.
    function oneStepExecutor() external view returns (IOneStepExecutor);
}
