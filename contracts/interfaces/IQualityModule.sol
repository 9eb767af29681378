// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IVerificationModule} from "./IVerificationModule.sol";

/// @title IQualityModule
/// @notice Proof of Quality: for generative models too large to prove or re-execute, a committee of
/// staked validators, drawn at random (PoolDraw, from the model's validator pool as it stood when the
/// randomness was requested; never the operator, never the requester), scores (prompt, response) with a
/// light cross-encoder, commits `keccak256(abi.encode(requestId, validator, score, salt))`, then reveals.
/// The median of the revealed scores decides: at or above the model's threshold the operator is paid,
/// below it the requester is refunded and the operator's lock slashed. Validators within
/// `outlierDistance` of the median earn `validatorReward`; outliers and non-revealers earn nothing and
/// lose part of the stake the module locked for the duty.
///
/// Timeline (bounded, on the market's active clock, stopped while paused):
///   submit -> randomness ready (a few blocks) -> `drawCommittee` (anyone) until `drawDeadline =
///   submittedAt + commitWindow`; once drawn, commit until `commitDeadline = drawnAt + commitWindow` ->
///   reveal until `revealDeadline = commitDeadline + revealWindow` (reveals open early once every member
///   committed) -> `resolve` (anyone, once every member revealed or the reveal deadline passed) ->
///   `InferenceMarket.finalize`. A draw that cannot seat a full committee is re-drawn with new randomness
///   (same pool snapshot), at most MAX_DRAW_ATTEMPTS times; never a short or empty committee.
///
/// Too few reveals (fewer than `minReveals`, including no committee at all): the quality is unknown, so
/// nobody is paid for it: the requester is refunded, the operator is NOT slashed (nothing shows it
/// cheated), members that did not reveal are slashed, members that revealed keep their stake and earn
/// their reward. Every slash (operator and members) goes to the treasury, never to the requester, so a
/// requester gains nothing by packing or steering a committee.
///
/// Model config (ModelRegistry, mode QUALITY): `abi.encode(QualityConfig)`.
/// Submission, response inline (at most `maxInlineBytes`): `output` = the UTF-8 response, `proof` empty.
/// Submission, response by reference: `output` = `abi.encode(keccak256(response))` (32 bytes),
/// `proof` = `abi.encode(string responseURI)`; validators fetch the response from the URI and score 0
/// when it is missing or does not hash to `output`.
/// Scores are in basis points: 0 (worst) .. 10000 (best).
interface IQualityModule is IVerificationModule {
    /// @notice Per-model settings.
    /// @param committeeSize Validators drawn per request (k), 1..MAX_COMMITTEE.
    /// @param minReveals Fewest reveals for a verdict, 1..committeeSize / 2 + 1 (so withholding reveals to
    /// force a refund needs a committee majority, like rejecting does).
    /// @param threshold Median score (bps) at or above which the response is accepted.
    /// @param outlierDistance A revealed score farther than this (bps) from the median is an outlier.
    /// @param commitWindow Seconds from submission during which the committee is drawn, and from the draw
    /// during which it commits.
    /// @param revealWindow Seconds after the commit deadline during which members reveal.
    /// @param maxInlineBytes Longest response accepted inline; longer ones go by hash + URI.
    /// @param operatorSlashBps Part of the operator's lock slashed when the median is below threshold.
    /// @param validatorStake Stake locked from each member for the duty.
    /// @param validatorReward Paid to each member whose revealed score is within `outlierDistance`.
    /// @param outlierSlash Slashed from a member whose revealed score is an outlier (<= validatorStake).
    /// @param noRevealSlash Slashed from a member that did not reveal (positive, <= validatorStake).
    struct QualityConfig {
        uint8 committeeSize;
        uint8 minReveals;
        uint16 threshold;
        uint16 outlierDistance;
        uint32 commitWindow;
        uint32 revealWindow;
        uint32 maxInlineBytes;
        uint16 operatorSlashBps;
        uint256 validatorStake;
        uint256 validatorReward;
        uint256 outlierSlash;
        uint256 noRevealSlash;
    }

    /// @notice A request's committee state.
    /// @param quorum At least `minReveals` members revealed (false: the too-few-reveals fallback applied).
    /// @param configHash keccak256 of the request's QualityConfig (stored once per distinct config).
    /// @param responseHash keccak256 of the response (inline or behind the URI).
    /// @param drawDeadline Last moment to draw; commit and reveal deadlines are set by the draw.
    /// @param snapshotBlock Block whose end state of the validator pool every draw of the request uses.
    /// @param randomnessRequested Whether the source accepted the request of the current draw attempt (a
    /// refused request is retried by `drawCommittee`, so a failing source never blocks a submission).
    struct Job {
        address operator;
        uint64 submittedAt;
        uint64 drawDeadline;
        uint64 snapshotBlock;
        uint8 drawAttempt;
        bool drawn;
        bool resolved;
        bool accepted;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint16 median;
        uint8 commits;
        uint8 reveals;
        bool quorum;
        bool randomnessRequested;
        uint256 modelId;
        bytes32 configHash;
        bytes32 responseHash;
    }

    /// @notice One committee member's state.
    struct Member {
        address validator;
        bytes32 commitment;
        uint16 score;
        bool revealed;
    }

    /// @notice Emitted when a submission is recorded and committee randomness requested.
    event QualitySubmitted(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address indexed operator,
        bytes32 responseHash,
        string responseURI,
        uint64 drawDeadline
    );
    /// @notice Emitted when committee randomness is requested again (it expired, or the draw came short).
    event CommitteeRandomnessRequested(uint256 indexed requestId, uint8 attempt, uint64 readyAtBlock);
    /// @notice Emitted when the randomness source refused a request; `drawCommittee` retries it.
    event CommitteeRandomnessRequestFailed(uint256 indexed requestId, uint8 attempt);
    /// @notice Emitted when the committee is drawn; bots filter on the model to find their duties.
    event CommitteeDrawn(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address[] members,
        uint64 commitDeadline,
        uint64 revealDeadline
    );
    /// @notice Emitted when a member commits to a score.
    event ScoreCommitted(uint256 indexed requestId, address indexed validator, bytes32 commitment);
    /// @notice Emitted when a member reveals its score.
    event ScoreRevealed(uint256 indexed requestId, address indexed validator, uint16 score);
    /// @notice Emitted when the committee's verdict is fixed.
    event QualityResolved(uint256 indexed requestId, bool indexed accepted, uint16 median, uint8 reveals);
    /// @notice Emitted when a member is slashed for an outlying score (`revealed`) or for not revealing.
    event ValidatorPenalised(uint256 indexed requestId, address indexed validator, bool revealed, uint256 slashed);

    /// @notice The caller is not the market.
    error QualityModuleOnlyMarket(address caller);
    /// @notice A config field is out of bounds.
    error QualityModuleBadConfig(bytes32 field, uint256 value);
    /// @notice The request already has a submission.
    error QualityModuleAlreadySubmitted(uint256 requestId);
    /// @notice The inline response is empty or longer than the model allows.
    error QualityModuleBadResponse(uint256 requestId, uint256 length, uint256 maxInlineBytes);
    /// @notice The request has no submission in this module.
    error QualityModuleUnknownRequest(uint256 requestId);
    /// @notice The committee is already drawn.
    error QualityModuleAlreadyDrawn(uint256 requestId);
    /// @notice The committee can no longer be drawn (the draw deadline passed, or no attempts are left).
    error QualityModuleDrawClosed(uint256 requestId, uint64 drawDeadline, uint256 nowTimestamp);
    /// @notice The committee randomness is not ready yet.
    error QualityModuleRandomnessNotReady(uint256 requestId);
    /// @notice The caller is not on the request's committee.
    error QualityModuleNotMember(uint256 requestId, address caller);
    /// @notice The commit phase is over.
    error QualityModuleCommitClosed(uint256 requestId, uint64 commitDeadline, uint256 nowTimestamp);
    /// @notice The member already committed.
    error QualityModuleAlreadyCommitted(uint256 requestId, address validator);
    /// @notice A zero commitment.
    error QualityModuleEmptyCommitment(uint256 requestId);
    /// @notice The reveal phase has not started or is over.
    error QualityModuleRevealClosed(uint256 requestId, uint64 revealDeadline, uint256 nowTimestamp);
    /// @notice The member did not commit, or already revealed.
    error QualityModuleCannotReveal(uint256 requestId, address validator);
    /// @notice The revealed score and salt do not open the commitment.
    error QualityModuleBadReveal(uint256 requestId, address validator);
    /// @notice A score above 10000 bps.
    error QualityModuleBadScore(uint256 score);
    /// @notice The verdict cannot be fixed yet (reveals pending before the reveal deadline).
    error QualityModuleNotResolvable(uint256 requestId, uint64 revealDeadline, uint256 nowTimestamp);
    /// @notice The request was already resolved.
    error QualityModuleAlreadyResolved(uint256 requestId);
    /// @notice The request has no verdict yet.
    error QualityModuleNotFinal(uint256 requestId);

    /// @notice Draws the committee from the validator pool snapshot (excluding the operator and the
    /// requester) once the randomness is ready, and locks each member's `validatorStake`. Re-requests
    /// randomness (same pool snapshot) when it expired or the draw could not seat a full committee.
    /// Anyone may call it until the draw deadline.
    /// @return drawn True when the committee was drawn; false when randomness had to be requested again.
    function drawCommittee(uint256 requestId) external returns (bool drawn);

    /// @notice A member commits `keccak256(abi.encode(requestId, msg.sender, score, salt))`.
    function commitScore(uint256 requestId, bytes32 commitment) external;

    /// @notice A member reveals its committed score; allowed after the commit deadline, or earlier once
    /// every member committed.
    function revealScore(uint256 requestId, uint16 score, bytes32 salt) external;

    /// @notice Fixes the verdict (median vs threshold), slashes outliers and non-revealers and releases
    /// the members' locks. Anyone may call it once every member revealed or the reveal deadline passed.
    function resolve(uint256 requestId) external;

    /// @notice The commitment a member must submit for `score` and `salt`.
    function commitmentOf(
        uint256 requestId,
        address validator,
        uint16 score,
        bytes32 salt
    ) external pure returns (bytes32);

    /// @notice A request's committee state.
    function getJob(uint256 requestId) external view returns (Job memory);

    /// @notice A request's committee members.
    function getMembers(uint256 requestId) external view returns (Member[] memory);

    /// @notice Whether the committee randomness of a request can be read now.
    function isDrawReady(uint256 requestId) external view returns (bool);

    /// @notice The stake lock id of a member.
    function memberLockId(uint256 requestId, address validator) external view returns (bytes32);
}
