// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IArbitrator} from "./IArbitrator.sol";
import {IVerificationModule} from "./IVerificationModule.sol";

/// @title ISamplingModule
/// @notice spML, Proof of Sampling: the assigned operator A commits to its output; randomness fixed only
/// after that commitment decides whether the request is re-executed (probability p = `sampleBps`) and by
/// which second operator B (drawn with PoolDraw from the model's operator pool as it stood when the
/// randomness was requested, never A, never one drawn before for the request). B commits before anything
/// of A's output is public, then both reveal. Equal outputs settle at once (A paid the price, B the verification fee);
/// different outputs go to the model's arbitrator, whose ruling decides who is slashed. A rational
/// operator is honest when p clears the bound derived in docs/SAMPLING.md (operator/src/sampling/calculator.ts).
///
/// In IVerificationModule terms:
/// - Model config (ModelRegistry, mode SAMPLING): `abi.encode(SamplingConfig)`.
/// - `verificationFee(config, price) = price * verifierFeeBps / 10000`, escrowed with every request; it
///   pays B when sampled and matched (or the arbitrator's majority after a dispute) and is refunded otherwise.
/// - `onSubmit`: A's commitment. `output` must be empty (nothing of the result is public yet) and
///   `proof = abi.encode(bytes32 commitment)` with
///   `commitment = keccak256(abi.encode(requestId, A, keccak256(output), salt))` (see `commitmentOf`).
/// - Own entry points: `advance` (anyone: sampling decision, draws, no-show timeouts, arbitration result),
///   `commitSampler` (B), `reveal` (A and B).
/// - `settlement`: accepted with A's output (A paid), accepted with B's output (B paid, A slashed) when the
///   arbitrator sides with B, or rejected (requester refunded; A slashed when it cheated or failed to reveal).
///
/// Timing: the sampling decision needs the randomness source to be ready (a few blocks after A's commit);
/// B has `commitWindow` seconds to commit after being drawn; A (and B when sampled) have `revealWindow`
/// seconds to reveal; a dispute that has no ruling after max(arbitrationTimeout, the arbitrator's
/// maxResolutionTime + RESOLVE_GRACE) seconds ends undecided (the grace leaves anyone an hour to record a
/// ruling the arbitrator can already give, so a party cannot race the timeout against it). Every phase has
/// a deadline (on the market's active clock, stopped while paused), so every request reaches a verdict in
/// bounded time.
///
/// A sampled request is never let through unchecked: when no sampler can be drawn (or every drawn one
/// failed to commit) within `maxDraws` draws, the request is rejected and the requester refunded (A is
/// not slashed: it was not shown wrong, but it is not paid for a result nobody could check).
interface ISamplingModule is IVerificationModule {
    /// @notice Per-model settings.
    /// @param sampleBps Probability p, in basis points, that a request is re-executed by a sampler.
    /// @param verifierFeeBps Verification fee (B's pay when sampled) in basis points of the price.
    /// @param samplerNoShowSlashBps Share of B's lock slashed when B misses its commit window.
    /// @param maxDraws Draws at most per sampled request (a draw that finds no sampler, or whose sampler does
    /// not commit, uses one); after that the request is refunded.
    /// @param commitWindow Seconds B has to commit once drawn.
    /// @param revealWindow Seconds A and B have to reveal once reveals are open.
    /// @param arbitrator Settles mismatches; must be allowed by governance.
    struct SamplingConfig {
        uint16 sampleBps;
        uint16 verifierFeeBps;
        uint16 samplerNoShowSlashBps;
        uint8 maxDraws;
        uint32 commitWindow;
        uint32 revealWindow;
        IArbitrator arbitrator;
    }

    /// @notice Where a request is in the protocol.
    enum Phase {
        None, // no commitment yet
        AwaitingRandomness, // A committed; the sampling decision waits for the randomness
        Unsampled, // not sampled: A reveals
        SamplerDrawn, // B drawn: B commits
        Revealing, // B committed: A and B reveal
        Disputed, // outputs differ: the arbitrator rules
        Final // verdict reached; the market can finalize
    }

    /// @notice How a final request settles.
    enum Verdict {
        None,
        AcceptedOperator, // A's output delivered, A paid
        AcceptedSampler, // B's output delivered, B paid, A slashed
        Rejected // requester refunded
    }

    /// @notice A request's protocol state.
    /// @param operator A, the assigned operator.
    /// @param deadline End of the current phase (0 while awaiting randomness).
    /// @param draws Samplers drawn so far.
    /// @param attempt Randomness requests made (a request is re-made only when the previous expired).
    /// @param sampler B, the current or last sampler (zero when none).
    /// @param sampled Whether the randomness selected the request for re-execution.
    /// @param forced Sampled because the first randomness expired unread (so waiting it out never helps A), or
    /// re-drawn with new randomness after a draw found no sampler.
    /// @param disputeOpened Whether the arbitrator accepted the dispute (Disputed phase; retried by `advance`).
    /// @param snapshotBlock Block whose end state of the operator pool the draws use (fixed at the request).
    /// @param slashOperator Whether settlement slashes A's whole lock.
    /// @param rewardSampler Whether settlement pays B the verification fee.
    /// @param rewardArbitrators Whether settlement shares the fee among the accounts a decided ruling names.
    /// @param randomnessRequested Whether the source accepted the current randomness request (a refused one is
    /// retried by `advance` until `deadline`, then the request is refunded: a failing source never blocks A).
    struct Job {
        address operator;
        uint64 deadline;
        Phase phase;
        Verdict verdict;
        uint8 draws;
        uint8 attempt;
        address sampler;
        bool sampled;
        bool forced;
        bool operatorRevealed;
        bool samplerRevealed;
        bool slashOperator;
        bool rewardSampler;
        bool rewardArbitrators;
        bool disputeOpened;
        bool randomnessRequested;
        uint64 snapshotBlock;
        bytes32 operatorCommitment;
        bytes32 samplerCommitment;
        bytes32 operatorOutputHash;
        bytes32 samplerOutputHash;
        uint256 seed;
        uint256 disputeId;
    }

    /// @notice Emitted when A's commitment is accepted and the sampling randomness requested.
    event OperatorCommitted(uint256 indexed requestId, address indexed operator, bytes32 commitment);
    /// @notice Emitted when the randomness decides whether the request is sampled.
    event SamplingDecided(uint256 indexed requestId, bool sampled, bool forced);
    /// @notice Emitted when the sampling randomness expired unread and was requested again (the request is
    /// then sampled regardless).
    event RandomnessRenewed(uint256 indexed requestId, uint8 attempt);
    /// @notice Emitted when the randomness source refused a request; `advance` retries it until `retryUntil`.
    event RandomnessRequestFailed(uint256 indexed requestId, uint8 attempt, uint64 retryUntil);
    /// @notice Emitted when randomness could not be had (every attempt used, or the source kept refusing): the
    /// request is refunded and nobody slashed.
    event RandomnessExhausted(uint256 indexed requestId, uint8 attempts);
    /// @notice Emitted when a sampler is drawn and its stake locked.
    event SamplerDrawn(uint256 indexed requestId, address indexed sampler, uint64 commitDeadline, uint8 draw);
    /// @notice Emitted when a draw found no sampler; the request is re-drawn with new randomness, or refunded
    /// once `maxDraws` draws are used.
    event SamplerUnavailable(uint256 indexed requestId, uint8 draws);
    /// @notice Emitted when the sampler commits.
    event SamplerCommitted(
        uint256 indexed requestId,
        address indexed sampler,
        bytes32 commitment,
        uint64 revealDeadline
    );
    /// @notice Emitted when the sampler misses its commit window (slashed, another may be drawn).
    event SamplerNoShow(uint256 indexed requestId, address indexed sampler, uint256 slashed);
    /// @notice Emitted when A or B reveals its output.
    event OutputRevealed(uint256 indexed requestId, address indexed party, bytes output);
    /// @notice Emitted when the outputs differ and the arbitrator takes over.
    event DisputeEscalated(uint256 indexed requestId, address indexed arbitrator, uint256 disputeId);
    /// @notice Emitted when the arbitrator refused to open the dispute; `advance` retries until the deadline.
    event DisputeOpenFailed(uint256 indexed requestId, address indexed arbitrator, uint64 deadline);
    /// @notice Emitted when a verdict is reached.
    event VerdictReached(
        uint256 indexed requestId,
        Verdict verdict,
        bool operatorSlashed,
        uint256 samplerSlashed,
        bool samplerRewarded
    );
    /// @notice Emitted when governance allows or disallows an arbitrator.
    event ArbitratorAllowed(address indexed arbitrator, bool allowed);
    /// @notice Emitted when governance sets the arbitration timeout.
    event ArbitrationTimeoutSet(uint64 timeout);

    /// @notice The caller is not the market.
    error SamplingModuleOnlyMarket(address caller);
    /// @notice A basis-points setting is above 10000.
    error SamplingModuleInvalidBps(uint256 bps);
    /// @notice A window is zero or longer than the maximum, or maxDraws is zero.
    error SamplingModuleInvalidWindow(uint256 window);
    /// @notice The arbitrator is not allowed by governance.
    error SamplingModuleArbitratorNotAllowed(address arbitrator);
    /// @notice The arbitration timeout is below the arbitrator's maxResolutionTime + RESOLVE_GRACE.
    error SamplingModuleArbitrationTimeoutTooShort(uint64 timeout, uint64 maxResolutionTime);
    /// @notice The arbitrator cannot rule on this model (e.g. its commitment is not recorded there).
    error SamplingModuleArbitratorCannotServe(address arbitrator, uint256 modelId);
    /// @notice A's submission carried output bytes; they must stay secret until B commits.
    error SamplingModuleOutputNotEmpty(uint256 requestId, uint256 length);
    /// @notice The submitted proof is not one ABI-encoded non-zero commitment.
    error SamplingModuleBadCommitment(uint256 requestId);
    /// @notice The request is not in the phase the call needs.
    error SamplingModuleWrongPhase(uint256 requestId, Phase phase);
    /// @notice The caller is not the party the call needs.
    error SamplingModuleNotParty(uint256 requestId, address caller);
    /// @notice The revealed output and salt do not open the party's commitment.
    error SamplingModuleCommitmentMismatch(uint256 requestId, address party, bytes32 committed, bytes32 opened);
    /// @notice The party already revealed.
    error SamplingModuleAlreadyRevealed(uint256 requestId, address party);
    /// @notice The phase deadline has passed.
    error SamplingModuleDeadlinePassed(uint256 requestId, uint64 deadline, uint256 nowTimestamp);
    /// @notice `advance` has nothing to do yet.
    error SamplingModuleNothingDue(uint256 requestId, Phase phase);
    /// @notice The output is longer than the module stores.
    error SamplingModuleOutputTooLarge(uint256 requestId, uint256 length);
    /// @notice The request has no verdict yet.
    error SamplingModuleNotFinal(uint256 requestId);
    /// @notice A zero address where a contract is required.
    error SamplingModuleZeroAddress();

    /// @notice B commits to its output: `keccak256(abi.encode(requestId, B, keccak256(output), salt))`.
    function commitSampler(uint256 requestId, bytes32 commitment) external;

    /// @notice A or B opens its commitment. A may reveal once the request is unsampled or B has committed;
    /// B once it has committed. When both have revealed, equal outputs settle and different ones escalate.
    function reveal(uint256 requestId, bytes calldata output, bytes32 salt) external;

    /// @notice Anyone: takes the step that is due (sampling decision once the randomness is ready, renewal of
    /// expired randomness, B no-show and redraw, reveal timeouts, the arbitrator's ruling or its timeout).
    /// Reverts with SamplingModuleNothingDue when nothing is.
    function advance(uint256 requestId) external;

    /// @notice Governance: allows or disallows an arbitrator in model configs.
    function setArbitratorAllowed(address arbitrator, bool allowed) external;

    /// @notice Governance: seconds after which a dispute without a ruling ends undecided (at least the
    /// arbitrator's maxResolutionTime + RESOLVE_GRACE is always waited).
    function setArbitrationTimeout(uint64 timeout) external;

    /// @notice Whether `advance` would do something now.
    function canAdvance(uint256 requestId) external view returns (bool);

    /// @notice A request's protocol state.
    function getJob(uint256 requestId) external view returns (Job memory);

    /// @notice The sampling settings the request is judged by (snapshot of the market's at creation).
    function configOf(uint256 requestId) external view returns (SamplingConfig memory);

    /// @notice Samplers drawn for the request so far, in order.
    function samplersOf(uint256 requestId) external view returns (address[] memory);

    /// @notice The revealed output of A (`sampler = false`) or B (`sampler = true`); empty before the reveal.
    function revealedOutput(uint256 requestId, bool sampler) external view returns (bytes memory);

    /// @notice The commitment a party makes to `output` with `salt`.
    function commitmentOf(
        uint256 requestId,
        address party,
        bytes calldata output,
        bytes32 salt
    ) external pure returns (bytes32);

    /// @notice The vault lock id of a sampler's stake for a request.
    function samplerLockId(uint256 requestId, address sampler) external view returns (bytes32);

    /// @notice The randomness-source key of a request's `attempt`-th randomness request.
    function randomnessKey(uint256 requestId, uint8 attempt) external pure returns (bytes32);

    /// @notice Whether governance allows `arbitrator`.
    function isArbitratorAllowed(address arbitrator) external view returns (bool);

    /// @notice Seconds after which a dispute without a ruling ends undecided.
    function arbitrationTimeout() external view returns (uint64);
}
