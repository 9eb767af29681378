// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IActiveClock} from "../../interfaces/IActiveClock.sol";
import {IArbitrator} from "../../interfaces/IArbitrator.sol";
import {PoolDraw} from "../../libraries/PoolDraw.sol";
import {IRandomnessSource} from "../../interfaces/IRandomnessSource.sol";
import {ISamplingCommittee} from "../../interfaces/ISamplingCommittee.sol";
import {IStakingVault} from "../../interfaces/IStakingVault.sol";

/// @title SamplingCommittee
/// @notice The first IArbitrator: a randomly drawn committee of staked validators re-executes the disputed
/// request and votes on the output hash with commit-reveal; the majority decides; no-shows and dissenters
/// are slashed. See ISamplingCommittee.
contract SamplingCommittee is ISamplingCommittee, Ownable2Step, ReentrancyGuard {
    uint16 private constant _BPS = 10_000;
    uint8 private constant _MAX_COMMITTEE = 15;
    uint32 private constant _MAX_WINDOW = 7 days;
    /// @dev Pool positions looked at per draw: bounds the gas of a draw whatever the size of the pool.
    uint256 private constant _MAX_PROBES = 64;
    /// @notice Draws (randomness requests) at most per dispute before it ends undecided.
    uint8 public constant MAX_DRAW_ATTEMPTS = 4;

    IStakingVault private immutable _vault;
    IRandomnessSource private immutable _randomness;
    IActiveClock private immutable _clock;

    Parameters private _params;
    uint256 private _disputeCount;
    mapping(address client => bool) private _clients;
    mapping(uint256 disputeId => Dispute) private _disputes;
    mapping(uint256 disputeId => address[]) private _members;
    mapping(uint256 disputeId => mapping(address validator => Vote)) private _votes;
    mapping(uint256 disputeId => mapping(address validator => bool)) private _isMember;
    mapping(uint256 disputeId => address[]) private _majority;

    constructor(
        address initialOwner,
        IStakingVault vault_,
        IRandomnessSource randomness_,
        IActiveClock clock_,
        Parameters memory params
    ) Ownable(initialOwner) {
        if (address(vault_) == address(0) || address(randomness_) == address(0) || address(clock_) == address(0)) {
            revert SamplingCommitteeZeroAddress();
        }
        _vault = vault_;
        _randomness = randomness_;
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
        address requester
    ) external returns (uint256 disputeId) {
        if (!_clients[msg.sender]) revert SamplingCommitteeNotClient(msg.sender);
        disputeId = ++_disputeCount;
        Parameters memory params = _params;
        Dispute storage dispute = _disputes[disputeId];
        dispute.stage = Stage.AwaitingDraw;
        dispute.drawDeadline = _now() + params.commitWindow;
        dispute.client = msg.sender;
        dispute.requester = requester;
        dispute.requestId = requestId;
        dispute.modelId = modelId;
        dispute.inputHash = inputHash;
        dispute.parties = parties;
        dispute.claims = claims;
        dispute.params = params;
        emit DisputeOpened(disputeId, msg.sender, requestId, modelId, inputHash, claims);
        _requestDraw(disputeId, dispute, 0);
    }

    /// @inheritdoc IArbitrator
    function isResolved(uint256 disputeId) external view returns (bool) {
        return _disputes[disputeId].stage == Stage.Resolved;
    }

    /// @inheritdoc IArbitrator
    function ruling(uint256 disputeId) external view returns (Ruling memory result) {
        Dispute storage dispute = _disputes[disputeId];
        if (dispute.stage != Stage.Resolved) revert SamplingCommitteeNotResolved(disputeId);
        result.decided = dispute.decided;
        result.outputHash = dispute.outputHash;
        result.rewarded = _majority[disputeId];
    }

    /// @inheritdoc IArbitrator
    function maxResolutionTime() external view returns (uint64) {
        return 2 * uint64(_params.commitWindow) + _params.revealWindow;
    }

    /// @inheritdoc IArbitrator
    /// @dev Any model: members re-execute it themselves.
    function supportsModel(uint256) external pure returns (bool) {
        return true;
    }

    // ---------------------------------------------------------------- committee

    /// @inheritdoc ISamplingCommittee
    function drawCommittee(uint256 disputeId) external nonReentrant {
        Dispute storage dispute = _requireDispute(disputeId);
        if (dispute.stage != Stage.AwaitingDraw) revert SamplingCommitteeWrongStage(disputeId, dispute.stage);
        uint64 nowTs = _now();
        if (nowTs > dispute.drawDeadline) {
            revert SamplingCommitteeOutsideWindow(disputeId, dispute.drawDeadline, nowTs);
        }
        bytes32 key = _randomnessKey(disputeId, dispute.attempt);
        if (_randomness.isExpired(address(this), key)) return _redraw(disputeId, dispute);
        if (!_randomness.isReady(address(this), key)) revert SamplingCommitteeRandomnessNotReady(disputeId);
        // Neither party nor the requester judges the dispute.
        address[] memory parties = new address[](3);
        parties[0] = dispute.parties[0];
        parties[1] = dispute.parties[1];
        parties[2] = dispute.requester;
        uint256 size = dispute.params.committeeSize;
        address[] memory picked = PoolDraw.draw(
            PoolDraw.Draw({
                vault: _vault,
                modelId: dispute.modelId,
                role: IStakingVault.Role.Validator,
                snapshotBlock: dispute.snapshotBlock,
                seed: _randomness.randomness(address(this), key),
                seats: size,
                maxProbes: _MAX_PROBES
            }),
            parties
        );
        // INVARIANT: a dispute is judged by a full committee or not at all (no silently short committee).
        if (picked.length < size) return _redraw(disputeId, dispute);
        dispute.stage = Stage.Voting;
        dispute.commitDeadline = nowTs + dispute.params.commitWindow;
        dispute.revealDeadline = dispute.commitDeadline + dispute.params.revealWindow;
        address[] storage members = _members[disputeId];
        for (uint256 i = 0; i < picked.length; ++i) {
            address member = picked[i];
            _isMember[disputeId][member] = true;
            members.push(member);
            emit ValidatorDrawn(disputeId, member, dispute.requestId);
            _vault.lockDuty(
                validatorLockId(disputeId, member),
                member,
                dispute.modelId,
                IStakingVault.Role.Validator,
                dispute.params.validatorStake
            );
        }
        emit CommitteeDrawn(disputeId, members.length);
    }

    /// @inheritdoc ISamplingCommittee
    function commitVote(uint256 disputeId, bytes32 commitment) external {
        Dispute storage dispute = _requireDispute(disputeId);
        if (dispute.stage != Stage.Voting) revert SamplingCommitteeWrongStage(disputeId, dispute.stage);
        if (!_isMember[disputeId][msg.sender]) revert SamplingCommitteeNotMember(disputeId, msg.sender);
        if (_now() > dispute.commitDeadline) {
            revert SamplingCommitteeOutsideWindow(disputeId, dispute.commitDeadline, _now());
        }
        // INVARIANT: an empty commitment binds nothing, so it must never count towards opening the reveals.
        if (commitment == bytes32(0)) revert SamplingCommitteeEmptyCommitment(disputeId);
        Vote storage vote = _votes[disputeId][msg.sender];
        if (vote.commitment != bytes32(0)) revert SamplingCommitteeAlreadyVoted(disputeId, msg.sender);
        vote.commitment = commitment;
        dispute.commits += 1;
        emit VoteCommitted(disputeId, msg.sender);
    }

    /// @inheritdoc ISamplingCommittee
    function revealVote(uint256 disputeId, bytes32 outputHash, bytes32 salt) external {
        Dispute storage dispute = _requireDispute(disputeId);
        if (dispute.stage != Stage.Voting) revert SamplingCommitteeWrongStage(disputeId, dispute.stage);
        if (!_isMember[disputeId][msg.sender]) revert SamplingCommitteeNotMember(disputeId, msg.sender);
        uint64 nowTs = _now();
        // INVARIANT: no vote is public before every member is bound (all committed, or the commit window closed).
        if (dispute.commits < _members[disputeId].length && nowTs <= dispute.commitDeadline) {
            revert SamplingCommitteeOutsideWindow(disputeId, dispute.commitDeadline, nowTs);
        }
        if (nowTs > dispute.revealDeadline) {
            revert SamplingCommitteeOutsideWindow(disputeId, dispute.revealDeadline, nowTs);
        }
        Vote storage vote = _votes[disputeId][msg.sender];
        if (vote.revealed) revert SamplingCommitteeAlreadyVoted(disputeId, msg.sender);
        bytes32 opened = voteCommitment(disputeId, msg.sender, outputHash, salt);
        if (opened != vote.commitment) {
            revert SamplingCommitteeCommitmentMismatch(disputeId, msg.sender, vote.commitment, opened);
        }
        vote.revealed = true;
        vote.outputHash = outputHash;
        dispute.reveals += 1;
        emit VoteRevealed(disputeId, msg.sender, outputHash);
    }

    /// @inheritdoc ISamplingCommittee
    function resolve(uint256 disputeId) external nonReentrant {
        Dispute storage dispute = _requireDispute(disputeId);
        if (!canResolve(disputeId)) revert SamplingCommitteeNotResolvable(disputeId);
        dispute.stage = Stage.Resolved;
        address[] storage members = _members[disputeId];
        (bytes32 winner, uint256 votes) = _tally(disputeId, members);
        bool decided = votes * 2 > dispute.params.committeeSize;
        dispute.decided = decided;
        if (decided) dispute.outputHash = winner;
        emit DisputeResolved(disputeId, decided, decided ? winner : bytes32(0), votes);
        uint256 slash = (dispute.params.validatorStake * dispute.params.slashBps) / _BPS;
        address treasury = _vault.treasury();
        for (uint256 i = 0; i < members.length; ++i) {
            address member = members[i];
            Vote storage vote = _votes[disputeId][member];
            bool withMajority = decided && vote.revealed && vote.outputHash == winner;
            if (withMajority) _majority[disputeId].push(member);
            bytes32 lockId = validatorLockId(disputeId, member);
            // INVARIANT: a member is slashed only for not revealing or for voting against a decided majority.
            uint256 held = _vault.getLock(lockId).amount;
            uint256 penalty = slash < held ? slash : held;
            if (!withMajority && (decided || !vote.revealed) && penalty > 0) {
                emit ValidatorSlashed(disputeId, member, penalty, vote.revealed);
                // To the treasury: nobody who could sway the vote profits from a slash.
                _vault.slash(lockId, penalty, treasury);
            }
            _vault.unlock(lockId);
        }
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc ISamplingCommittee
    function setClient(address client, bool authorised) external onlyOwner {
        if (client == address(0)) revert SamplingCommitteeZeroAddress();
        _clients[client] = authorised;
        emit ClientAuthorised(client, authorised);
    }

    /// @inheritdoc ISamplingCommittee
    function setParameters(Parameters calldata params) external onlyOwner {
        _setParameters(params);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ISamplingCommittee
    function canResolve(uint256 disputeId) public view returns (bool) {
        Dispute storage dispute = _disputes[disputeId];
        if (dispute.stage == Stage.Voting) {
            return dispute.reveals == _members[disputeId].length || _now() > dispute.revealDeadline;
        }
        // Never drawn within the draw window (or out of draw attempts): ends undecided.
        return
            dispute.stage == Stage.AwaitingDraw &&
            (_now() > dispute.drawDeadline || dispute.attempt >= MAX_DRAW_ATTEMPTS);
    }

    /// @inheritdoc ISamplingCommittee
    function canDraw(uint256 disputeId) external view returns (bool) {
        Dispute storage dispute = _disputes[disputeId];
        if (dispute.stage != Stage.AwaitingDraw || _now() > dispute.drawDeadline) return false;
        if (dispute.attempt >= MAX_DRAW_ATTEMPTS) return false;
        bytes32 key = _randomnessKey(disputeId, dispute.attempt);
        return _randomness.isReady(address(this), key) || _randomness.isExpired(address(this), key);
    }

    /// @inheritdoc ISamplingCommittee
    function getDispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @inheritdoc ISamplingCommittee
    function membersOf(uint256 disputeId) external view returns (address[] memory) {
        return _members[disputeId];
    }

    /// @inheritdoc ISamplingCommittee
    function voteOf(uint256 disputeId, address validator) external view returns (Vote memory) {
        return _votes[disputeId][validator];
    }

    /// @inheritdoc ISamplingCommittee
    function voteCommitment(
        uint256 disputeId,
        address validator,
        bytes32 outputHash,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(disputeId, validator, outputHash, salt));
    }

    /// @inheritdoc ISamplingCommittee
    function validatorLockId(uint256 disputeId, address validator) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), disputeId, validator));
    }

    /// @inheritdoc ISamplingCommittee
    function parameters() external view returns (Parameters memory) {
        return _params;
    }

    /// @inheritdoc ISamplingCommittee
    function isClient(address client) external view returns (bool) {
        return _clients[client];
    }

    /// @inheritdoc ISamplingCommittee
    function disputeCount() external view returns (uint256) {
        return _disputeCount;
    }

    /// @notice The staking vault holding the validators' stakes.
    function vault() external view returns (IStakingVault) {
        return _vault;
    }

    // ---------------------------------------------------------------- internals

    /// @dev Requests the randomness of draw `attempt`. The first fixes the pool every draw of the dispute
    /// uses (the previous block); redraws keep it, so a short or expired draw never lets new joiners in.
    function _requestDraw(uint256 disputeId, Dispute storage dispute, uint8 attempt) private {
        dispute.attempt = attempt;
        // INVARIANT: the pool of a dispute's draws is fixed before any of its randomness was requested.
        if (attempt == 0) dispute.snapshotBlock = uint64(block.number - 1);
        _randomness.request(_randomnessKey(disputeId, attempt));
    }

    /// @dev New randomness (same snapshot) for another draw, while attempts are left (otherwise the dispute
    /// waits for `resolve`, which ends it undecided).
    function _redraw(uint256 disputeId, Dispute storage dispute) private {
        uint8 attempt = dispute.attempt + 1;
        emit DrawRandomnessRenewed(disputeId, attempt);
        if (attempt >= MAX_DRAW_ATTEMPTS) {
            dispute.attempt = attempt;
            return;
        }
        _requestDraw(disputeId, dispute, attempt);
    }

    function _now() private view returns (uint64) {
        return _clock.activeTime();
    }

    /// @dev The most revealed output hash and its votes (first seen wins a tie, which can then never decide).
    function _tally(uint256 disputeId, address[] storage members) private view returns (bytes32 winner, uint256 best) {
        uint256 n = members.length;
        for (uint256 i = 0; i < n; ++i) {
            Vote storage vote = _votes[disputeId][members[i]];
            if (!vote.revealed) continue;
            uint256 count = 0;
            for (uint256 j = 0; j < n; ++j) {
                Vote storage other = _votes[disputeId][members[j]];
                if (other.revealed && other.outputHash == vote.outputHash) ++count;
            }
            if (count > best) (winner, best) = (vote.outputHash, count);
        }
    }

    function _requireDispute(uint256 disputeId) private view returns (Dispute storage dispute) {
        dispute = _disputes[disputeId];
        if (dispute.stage == Stage.None) revert SamplingCommitteeUnknownDispute(disputeId);
    }

    function _randomnessKey(uint256 disputeId, uint8 attempt) private pure returns (bytes32) {
        return keccak256(abi.encode("committee", disputeId, attempt));
    }

    function _setParameters(Parameters memory params) private {
        if (
            params.committeeSize == 0 ||
            params.committeeSize > _MAX_COMMITTEE ||
            params.slashBps > _BPS ||
            params.commitWindow == 0 ||
            params.commitWindow > _MAX_WINDOW ||
            params.revealWindow == 0 ||
            params.revealWindow > _MAX_WINDOW
        ) {
            revert SamplingCommitteeInvalidParameters(
                params.committeeSize,
                params.slashBps,
                params.commitWindow,
                params.revealWindow
            );
        }
        _params = params;
        emit ParametersSet(params);
    }
}
