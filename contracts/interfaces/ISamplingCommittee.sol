// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IArbitrator} from "./IArbitrator.sol";

/// @title ISamplingCommittee
/// @notice Committee arbitration for spML disputes. When a client opens a dispute, randomness fixed after
/// that moment draws `committeeSize` validators (PoolDraw) from the model's validator pool as it stood when
/// its first randomness was requested, never one of the parties, and locks `validatorStake` of each. A draw that
/// cannot seat a full committee is re-drawn with new randomness (drawing from the same pool snapshot), at most
/// MAX_DRAW_ATTEMPTS times and only within the draw window; a dispute that never gets a full committee
/// ends undecided. Empty commitments are refused. Members re-execute the request and vote on the
/// output hash with commit-reveal: `commitment = keccak256(abi.encode(disputeId, validator, outputHash,
/// salt))`, reveals open once every member committed or the commit deadline passed. An output hash with
/// more than half of the committee's seats (`votes * 2 > committeeSize`) wins. Members who did not
/// reveal, and members who revealed another hash than the winner, lose `slashBps` of their lock.
///
/// Deadlines (on the active clock, stopped while the market is paused): draw until `openedAt +
/// commitWindow`; once drawn, commit for `commitWindow` and reveal for `revealWindow`; `resolve` after that
/// (or once every member revealed) ends the dispute, decided or not, so a ruling never takes longer than
/// `maxResolutionTime()` = 2 * commitWindow + revealWindow.
interface ISamplingCommittee is IArbitrator {
    /// @notice Where a dispute is.
    enum Stage {
        None,
        AwaitingDraw, // randomness requested; anyone draws the committee once it is ready
        Voting, // members commit, then reveal
        Resolved
    }

    /// @notice Committee settings, fixed per dispute when it opens.
    struct Parameters {
        uint8 committeeSize;
        uint16 slashBps;
        uint32 commitWindow;
        uint32 revealWindow;
        uint256 validatorStake;
    }

    /// @notice A dispute as stored.
    /// @param parties The two disagreeing parties; `claims` their output hashes.
    /// @param requester The disputed request's requester: excluded from the committee (slashes go to the treasury).
    /// @param drawDeadline End of the draw; `commitDeadline` end of commits and `revealDeadline` end of reveals
    /// (both set when the committee is drawn).
    /// @param snapshotBlock Block whose end state of the validator pool every draw of the dispute uses.
    struct Dispute {
        Stage stage;
        bool decided;
        uint8 attempt;
        uint64 drawDeadline;
        uint64 snapshotBlock;
        uint8 commits;
        uint8 reveals;
        uint64 commitDeadline;
        uint64 revealDeadline;
        address client;
        address requester;
        uint256 requestId;
        uint256 modelId;
        bytes32 inputHash;
        bytes32 outputHash;
        address[2] parties;
        bytes32[2] claims;
        Parameters params;
    }

    /// @notice A member's vote.
    struct Vote {
        bytes32 commitment;
        bytes32 outputHash;
        bool revealed;
    }

    /// @notice Emitted for each validator drawn into a committee (validators filter by their address).
    event ValidatorDrawn(uint256 indexed disputeId, address indexed validator, uint256 indexed requestId);
    /// @notice Emitted when the committee has been drawn.
    event CommitteeDrawn(uint256 indexed disputeId, uint256 members);
    /// @notice Emitted when the draw randomness expired unread, or the draw could not seat a full committee, and
    /// new randomness was requested.
    event DrawRandomnessRenewed(uint256 indexed disputeId, uint8 attempt);
    /// @notice Emitted when a member commits its vote.
    event VoteCommitted(uint256 indexed disputeId, address indexed validator);
    /// @notice Emitted when a member reveals its vote.
    event VoteRevealed(uint256 indexed disputeId, address indexed validator, bytes32 outputHash);
    /// @notice Emitted when a member is slashed (no reveal, or against the majority).
    event ValidatorSlashed(uint256 indexed disputeId, address indexed validator, uint256 amount, bool revealed);
    /// @notice Emitted when a dispute ends.
    event DisputeResolved(uint256 indexed disputeId, bool decided, bytes32 outputHash, uint256 majorityVotes);
    /// @notice Emitted when governance authorises or deauthorises a client.
    event ClientAuthorised(address indexed client, bool authorised);
    /// @notice Emitted when governance changes the committee parameters.
    event ParametersSet(Parameters params);

    /// @notice The caller may not open disputes.
    error SamplingCommitteeNotClient(address caller);
    /// @notice The parameters are out of range.
    error SamplingCommitteeInvalidParameters(
        uint8 committeeSize,
        uint16 slashBps,
        uint32 commitWindow,
        uint32 revealWindow
    );
    /// @notice No dispute with this id.
    error SamplingCommitteeUnknownDispute(uint256 disputeId);
    /// @notice The dispute is not in the stage the call needs.
    error SamplingCommitteeWrongStage(uint256 disputeId, Stage stage);
    /// @notice The draw randomness is not ready yet.
    error SamplingCommitteeRandomnessNotReady(uint256 disputeId);
    /// @notice The caller is not a member of the committee.
    error SamplingCommitteeNotMember(uint256 disputeId, address caller);
    /// @notice The member already committed (or revealed).
    error SamplingCommitteeAlreadyVoted(uint256 disputeId, address validator);
    /// @notice The call is outside its window.
    error SamplingCommitteeOutsideWindow(uint256 disputeId, uint64 opensOrCloses, uint256 nowTimestamp);
    /// @notice The revealed vote does not open the commitment.
    error SamplingCommitteeCommitmentMismatch(uint256 disputeId, address validator, bytes32 committed, bytes32 opened);
    /// @notice The dispute cannot be resolved yet.
    error SamplingCommitteeNotResolvable(uint256 disputeId);
    /// @notice The dispute has no ruling yet.
    error SamplingCommitteeNotResolved(uint256 disputeId);
    /// @notice A zero address where a contract is required.
    error SamplingCommitteeZeroAddress();
    /// @notice A vote commitment must not be empty.
    error SamplingCommitteeEmptyCommitment(uint256 disputeId);

    /// @notice Anyone: draws the committee once the randomness is ready (renews it when it expired).
    function drawCommittee(uint256 disputeId) external;

    /// @notice Member: commits to an output hash (see the contract notice for the commitment).
    function commitVote(uint256 disputeId, bytes32 commitment) external;

    /// @notice Member: reveals its vote.
    function revealVote(uint256 disputeId, bytes32 outputHash, bytes32 salt) external;

    /// @notice Anyone: tallies the votes, slashes no-shows and dissenters, releases the locks, records the ruling.
    function resolve(uint256 disputeId) external;

    /// @notice Governance: authorises a verification module to open disputes.
    function setClient(address client, bool authorised) external;

    /// @notice Governance: committee parameters for disputes opened from now on.
    function setParameters(Parameters calldata params) external;

    /// @notice A dispute.
    function getDispute(uint256 disputeId) external view returns (Dispute memory);

    /// @notice The committee of a dispute (empty before the draw).
    function membersOf(uint256 disputeId) external view returns (address[] memory);

    /// @notice A member's vote.
    function voteOf(uint256 disputeId, address validator) external view returns (Vote memory);

    /// @notice Whether `resolve` would succeed now.
    function canResolve(uint256 disputeId) external view returns (bool);

    /// @notice Whether the committee can be drawn now (randomness ready or expired, still in the draw window).
    function canDraw(uint256 disputeId) external view returns (bool);

    /// @notice The commitment of a vote.
    function voteCommitment(
        uint256 disputeId,
        address validator,
        bytes32 outputHash,
        bytes32 salt
    ) external pure returns (bytes32);

    /// @notice The vault lock id of a member's stake.
    function validatorLockId(uint256 disputeId, address validator) external view returns (bytes32);

    /// @notice Current parameters for new disputes.
    function parameters() external view returns (Parameters memory);

    /// @notice Whether `client` may open disputes.
    function isClient(address client) external view returns (bool);

    /// @notice Disputes opened so far.
    function disputeCount() external view returns (uint256);
}
