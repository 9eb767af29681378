// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOneStepExecutor} from "./IOneStepExecutor.sol";
import {IVerificationModule} from "./IVerificationModule.sol";

/// @title IOptimisticModule
/// @notice opML: a result stands unless someone proves it wrong. The operator submits the output and
/// a commitment to its execution trace of the integer graph (IOneStepExecutor describes the trace
/// tree). The result finalizes once the model's challenge window has passed with no open dispute.
///
/// Any staked account may challenge within the window by bonding `challengerBond` (at least governance's
/// `minChallengerBond`, never zero: a losing challenger pays the operator for the game) of its free stake in
/// the StakingVault; each challenge opens its own dispute game against the operator (games run in
/// parallel, so a colluding first challenger cannot shield a wrong result). A game is a dissection
/// over the operator's Merkle trees, `LEVELS_PER_MOVE` levels per round: the operator reveals the
/// 2^m descendants of the node under dispute (checked to hash to it), the challenger picks one it
/// disagrees with. Phase 1 descends the trace tree to one tensor, phase 2 that tensor's tree to one
/// element, and the one-step executor recomputes that element from the model's weights and the
/// operator's own committed inputs. An honest operator is consistent everywhere and always wins; an
/// operator whose output is wrong has a first wrong tensor, whose inputs are all correct, so a
/// challenger that picks the leftmost disagreement always wins. Each party has a chess clock of
/// `clock` seconds for all its moves; a party whose clock runs out loses (`timeout`, anyone).
///
/// Resolution: a challenger who wins gets its bond back, the request is rejected (the market refunds
/// the requester in full: price and fee) and the operator's whole stake lock is slashed with the
/// winning challenger as beneficiary (its share per the vault's beneficiaryShareBps, rest to the
/// treasury). A challenger who loses has its whole bond slashed with the operator as beneficiary.
/// When the operator has lost one game, the bonds of the other open games are released (`releaseBond`).
///
/// An element that the one-step executor reports not executable (the model commitment makes it
/// impossible to recompute within a block, see IOneStepExecutor) counts against the operator: an operator
/// must only serve models whose every element can be disputed (verifier-gen's `oneStepCost`).
///
/// All deadlines and clocks run on the market's active clock (IActiveClock), which stands still while the
/// market is paused.
///
/// Model config (ModelRegistry, mode OPTIMISTIC): `abi.encode(OptimisticConfig)`.
/// Submission: `output = abi.encode(int256[] values)`, the quantized values of the graph's last tensor,
/// `proof = abi.encode(OptimisticProof)`.
interface IOptimisticModule is IVerificationModule {
    /// @notice Per-model settings.
    /// @param challengeWindow Seconds after submission during which the result can be challenged.
    /// @param clock Seconds each party may spend, in total, on its moves in one game.
    /// @param challengerBond Stake a challenger locks per game.
    /// @param leafCount Leaves of the model tree; with `paramRoot` and `tensorSizes` the preimage of the
    /// registered modelHash (checked at registration), so none of them can disagree with the model.
    /// @param paramRoot Root of the model tree.
    /// @param tensorSizes Elements of each tensor of the integer graph (tensor 0 = the input; the last
    /// tensor is the output).
    struct OptimisticConfig {
        uint64 challengeWindow;
        uint64 clock;
        uint256 challengerBond;
        uint32 leafCount;
        bytes32 paramRoot;
        uint32[] tensorSizes;
    }

    /// @notice What the operator submits as `proof`.
    /// @param traceRoot Root of the trace tree.
    /// @param outputSiblings Path of the last tensor's trace leaf, exactly as long as the trace tree is deep.
    struct OptimisticProof {
        bytes32 traceRoot;
        bytes32[] outputSiblings;
    }

    /// @notice Where a game stands.
    enum Phase {
        None,
        Trace,
        Tensor,
        OneStep,
        Resolved
    }

    /// @notice How a game ended.
    enum Outcome {
        Open,
        OperatorWon,
        ChallengerWon,
        Cancelled
    }

    /// @notice Why a game ended.
    enum Reason {
        None,
        OneStep,
        Padding,
        OperatorTimeout,
        ChallengerTimeout,
        OperatorLostElsewhere,
        NotExecutable
    }

    /// @notice A submitted result.
    struct Result {
        address operator;
        uint64 challengeDeadline;
        uint64 clock;
        bool operatorLost;
        uint32 openGames;
        address winner;
        uint256 modelId;
        uint256 challengerBond;
        bytes32 traceRoot;
        bytes32 modelHash;
        bytes32 inputHash;
        bytes32 outputHash;
    }

    /// @notice One dispute game (operator vs one challenger).
    /// @param operatorToMove Whose clock runs (false in phase OneStep: the challenger must call it).
    /// @param depth Depth of the tree being descended (trace tree in phase Trace, tensor tree in Tensor).
    /// @param level Levels descended so far; `position` is the index of the node at that level.
    /// @param node The operator's hash of the node under dispute.
    /// @param revealed keccak256 of the children the operator revealed last (0 when none pending).
    struct Game {
        Phase phase;
        Outcome outcome;
        Reason reason;
        bool operatorToMove;
        uint8 depth;
        uint8 level;
        uint32 tensor;
        uint64 position;
        uint64 lastMoveAt;
        uint64 operatorClock;
        uint64 challengerClock;
        uint32 moves;
        bytes32 node;
        bytes32 revealed;
    }

    /// @notice Emitted when an optimistic result is recorded.
    event ResultProposed(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address indexed operator,
        bytes output,
        bytes32 traceRoot,
        uint64 challengeDeadline
    );
    /// @notice Emitted when a challenger bonds and opens a game.
    event Challenged(uint256 indexed requestId, address indexed challenger, address indexed operator, uint256 bond);
    /// @notice Emitted when the operator reveals the descendants of the disputed node.
    event ChildrenRevealed(
        uint256 indexed requestId,
        address indexed challenger,
        uint8 level,
        uint64 position,
        bytes32[] children
    );
    /// @notice Emitted when the challenger picks the descendant it disputes.
    event ChildPicked(uint256 indexed requestId, address indexed challenger, uint8 level, uint64 position);
    /// @notice Emitted when phase 1 ends on one tensor and phase 2 starts.
    event TensorDisputed(uint256 indexed requestId, address indexed challenger, uint32 tensor, bytes32 root);
    /// @notice Emitted when the one-step check ran.
    event OneStepChecked(
        uint256 indexed requestId,
        address indexed challenger,
        uint32 tensor,
        uint64 element,
        int256 computed,
        bool operatorCorrect
    );
    /// @notice Emitted when governance sets the smallest bond a model config may ask of challengers.
    event MinChallengerBondSet(uint256 bond);
    /// @notice Emitted when a game ends.
    event GameResolved(
        uint256 indexed requestId,
        address indexed challenger,
        Outcome outcome,
        Reason reason,
        uint32 moves
    );

    /// @notice The caller is not the market.
    error OptimisticModuleOnlyMarket(address caller);
    /// @notice The config is malformed (a window or clock under MIN_TIME or too long, fewer than two tensors,
    /// an empty or oversized tensor).
    error OptimisticModuleBadConfig(uint256 modelId);
    /// @notice leafCount, paramRoot and tensorSizes of the config are not the preimage of the modelHash.
    error OptimisticModuleModelMismatch(uint256 modelId, bytes32 registered, bytes32 computed);
    /// @notice The config's challenger bond is below governance's minimum.
    error OptimisticModuleBondTooLow(uint256 bond, uint256 minimum);
    /// @notice Governance's minimum challenger bond must be positive.
    error OptimisticModuleZeroMinimumBond();
    /// @notice The output is not the ABI encoding of the last tensor's values (int256[] of its size).
    error OptimisticModuleBadOutput(uint256 requestId, uint256 length);
    /// @notice The output is not the last tensor of the committed trace.
    error OptimisticModuleOutputNotInTrace(uint256 requestId, bytes32 outputHash, bytes32 traceRoot);
    /// @notice No result was submitted for the request.
    error OptimisticModuleUnknownResult(uint256 requestId);
    /// @notice The challenge window is over, or the operator already lost.
    error OptimisticModuleChallengeClosed(uint256 requestId, uint64 challengeDeadline);
    /// @notice The account already challenged this request, or is its operator.
    error OptimisticModuleCannotChallenge(uint256 requestId, address challenger);
    /// @notice No game of this challenger on this request.
    error OptimisticModuleUnknownGame(uint256 requestId, address challenger);
    /// @notice The move does not fit the game's phase or turn, or the caller is not the party to move.
    error OptimisticModuleNotYourMove(uint256 requestId, address challenger, address caller);
    /// @notice The mover's clock has run out; only `timeout` is left.
    error OptimisticModuleClockExpired(uint256 requestId, address challenger, uint64 elapsed, uint64 remaining);
    /// @notice The revealed descendants do not hash to the disputed node (or have the wrong count).
    error OptimisticModuleInconsistentReveal(uint256 requestId, address challenger, bytes32 expected, bytes32 computed);
    /// @notice The children passed with a pick are not the ones revealed, or the index is out of range.
    error OptimisticModuleBadPick(uint256 requestId, address challenger, uint256 index);
    /// @notice The party to move still has time.
    error OptimisticModuleClockRunning(uint256 requestId, address challenger, uint64 elapsed, uint64 remaining);
    /// @notice The bond cannot be released: the game is not open or the operator has not lost.
    error OptimisticModuleBondNotReleasable(uint256 requestId, address challenger);
    /// @notice The request is not final yet.
    error OptimisticModuleNotFinal(uint256 requestId);

    /// @notice Bonds `challengerBond` of the caller's free stake and opens a game against the result.
    function challenge(uint256 requestId) external;

    /// @notice Operator move: reveals the 2^m descendants, m = min(LEVELS_PER_MOVE, depth - level),
    /// of the disputed node (left to right); they must hash up to it.
    function reveal(uint256 requestId, address challenger, bytes32[] calldata children) external;

    /// @notice Challenger move: picks the revealed descendant `index` it disagrees with.
    /// @param children The revealed descendants, as emitted in ChildrenRevealed.
    function pick(uint256 requestId, bytes32[] calldata children, uint256 index) external;

    /// @notice Runs the one-step check of the disputed element (anyone); the loser is the party whose
    /// claim the chain's recomputation contradicts.
    function oneStep(uint256 requestId, address challenger, IOneStepExecutor.OneStepProof calldata proof) external;

    /// @notice Ends a game whose party to move has run out of clock (anyone).
    function timeout(uint256 requestId, address challenger) external;

    /// @notice Releases the bond of a game left open when the operator lost another game (anyone).
    function releaseBond(uint256 requestId, address challenger) external;

    /// @notice Governance: the smallest challenger bond a model config may set (positive).
    function setMinChallengerBond(uint256 bond) external;

    /// @notice The smallest challenger bond a model config may set.
    function minChallengerBond() external view returns (uint256);

    /// @notice The output a result proposed (abi.encode(int256[]) of the last tensor).
    function outputOf(uint256 requestId) external view returns (bytes memory);

    /// @notice The recorded result of a request.
    function getResult(uint256 requestId) external view returns (Result memory);

    /// @notice A game of a request.
    function getGame(uint256 requestId, address challenger) external view returns (Game memory);

    /// @notice Challengers of a request, in order.
    function challengersOf(uint256 requestId) external view returns (address[] memory);

    /// @notice The optimistic config the request is judged by (snapshot of the market's at creation).
    function configOf(uint256 requestId) external view returns (OptimisticConfig memory);

    /// @notice Vault lock id of a challenger's bond.
    function bondLockId(uint256 requestId, address challenger) external view returns (bytes32);

    /// @notice The one-step executor.
    function oneStepExecutor() external view returns (IOneStepExecutor);
}
