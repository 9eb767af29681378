// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {PoolDraw} from "../libraries/PoolDraw.sol";
import {IQualityModule} from "../interfaces/IQualityModule.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";
import {IStakingVault} from "../interfaces/IStakingVault.sol";
import {IVerificationModule} from "../interfaces/IVerificationModule.sol";
import {QualityMedian} from "./quality/QualityMedian.sol";

/// @title QualityModule
/// @notice Proof of Quality: a random committee of staked validators scores the response with a
/// cross-encoder, commits, reveals, and the median of the reveals decides payment (see IQualityModule).
contract QualityModule is IQualityModule, ReentrancyGuard {
    using QualityMedian for uint16[];

    /// @notice Largest committee.
    uint8 public constant MAX_COMMITTEE = 15;
    /// @notice Highest score (basis points).
    uint16 public constant MAX_SCORE = 10_000;
    /// @notice Longest commit or reveal window.
    uint32 public constant MAX_WINDOW = 30 days;
    /// @notice Shortest commit or reveal window a model config may set.
    uint32 public constant MIN_WINDOW = 5 minutes;
    /// @notice Longest inline response.
    uint32 public constant MAX_INLINE_BYTES = 4096;
    /// @notice Most pool positions examined per draw.
    uint256 public constant MAX_PROBES = 64;
    /// @notice Draws (randomness requests) at most per request before it resolves without a committee.
    uint8 public constant MAX_DRAW_ATTEMPTS = 4;

    uint256 private constant _BPS = 10_000;

    address private immutable _market;
    IStakingVault private immutable _vault;
    IRandomnessSource private immutable _randomness;

    mapping(uint256 requestId => Job) private _jobs;
    mapping(uint256 requestId => Member[]) private _members;
    mapping(uint256 requestId => mapping(address validator => uint256 slot)) private _memberSlot; // index + 1
    mapping(uint256 requestId => bytes) private _outputs;
    mapping(bytes32 configHash => QualityConfig) private _configs;

    constructor(address market_, IStakingVault vault_, IRandomnessSource randomness_) {
        _market = market_;
        _vault = vault_;
        _randomness = randomness_;
    }

    // ---------------------------------------------------------------- market interface

    /// @inheritdoc IVerificationModule
    function validateModelConfig(uint256, bytes calldata config) external pure {
        _validate(abi.decode(config, (QualityConfig)));
    }

    /// @inheritdoc IVerificationModule
    /// @dev Every member of a full committee can earn its reward.
    function verificationFee(bytes calldata config, uint256) external pure returns (uint256) {
        QualityConfig memory cfg = abi.decode(config, (QualityConfig));
        return uint256(cfg.committeeSize) * cfg.validatorReward;
    }

    /// @inheritdoc IVerificationModule
    function onSubmit(Submission calldata submission, bytes calldata output, bytes calldata proof) external {
        if (msg.sender != _market) revert QualityModuleOnlyMarket(msg.sender);
        uint256 requestId = submission.requestId;
        Job storage job = _jobs[requestId];
        if (job.operator != address(0)) revert QualityModuleAlreadySubmitted(requestId);
        bytes32 configHash = keccak256(submission.config);
        QualityConfig storage cfg = _configs[configHash];
        if (cfg.committeeSize == 0) {
            QualityConfig memory decoded = abi.decode(submission.config, (QualityConfig));
            _validate(decoded);
            _configs[configHash] = decoded;
        }

        bytes32 responseHash;
        string memory responseURI;
        if (proof.length == 0) {
            // INVARIANT: validators can read an inline response from the submission event.
            if (output.length == 0 || output.length > cfg.maxInlineBytes) {
                revert QualityModuleBadResponse(requestId, output.length, cfg.maxInlineBytes);
            }
            responseHash = keccak256(output);
        } else {
            responseURI = abi.decode(proof, (string));
            if (output.length != 32 || bytes(responseURI).length == 0) {
                revert QualityModuleBadResponse(requestId, output.length, cfg.maxInlineBytes);
            }
            responseHash = bytes32(output);
        }

        uint64 nowTs = _now();
        uint64 drawDeadline = nowTs + cfg.commitWindow;
        job.operator = submission.operator;
        job.submittedAt = nowTs;
        job.drawDeadline = drawDeadline;
        job.modelId = submission.modelId;
        job.configHash = configHash;
        job.responseHash = responseHash;
        _outputs[requestId] = output;
        emit QualitySubmitted(
            requestId,
            submission.modelId,
            submission.operator,
            responseHash,
            responseURI,
            drawDeadline
        );
        _requestDraw(requestId, job, 0);
    }

    /// @inheritdoc IVerificationModule
    function isFinal(uint256 requestId) external view returns (bool) {
        return _jobs[requestId].resolved;
    }

    /// @inheritdoc IVerificationModule
    function settlement(uint256 requestId) external view returns (Settlement memory result) {
        Job storage job = _jobs[requestId];
        if (!job.resolved) revert QualityModuleNotFinal(requestId);
        QualityConfig storage cfg = _configs[job.configHash];
        result.accepted = job.accepted;
        result.payee = job.operator;
        if (job.accepted) {
            result.output = _outputs[requestId];
        } else if (job.quorum) {
            uint256 operatorStake = IInferenceMarket(_market).getRequest(requestId).operatorStake;
            result.operatorSlash = (operatorStake * cfg.operatorSlashBps) / _BPS;
            // INVARIANT: a requester never profits from a rejection (it is already refunded in full).
            result.slashBeneficiary = _vault.treasury();
        }
        Member[] storage members = _members[requestId];
        uint256 n = members.length;
        uint256 paid;
        Reward[] memory rewards = new Reward[](n);
        for (uint256 i = 0; i < n; ++i) {
            Member storage m = members[i];
            if (_earnsReward(job, cfg, m)) {
                rewards[paid++] = Reward({to: m.validator, amount: cfg.validatorReward});
            }
        }
        assembly ("memory-safe") {
            mstore(rewards, paid)
        }
        result.rewards = rewards;
    }

    // ---------------------------------------------------------------- committee

    /// @inheritdoc IQualityModule
    function drawCommittee(uint256 requestId) external nonReentrant returns (bool drawn) {
        Job storage job = _requireJob(requestId);
        if (job.drawn) revert QualityModuleAlreadyDrawn(requestId);
        uint64 nowTs = _now();
        // INVARIANT: the committee is fixed before anyone can commit, and only within the draw window.
        if (nowTs > job.drawDeadline || job.drawAttempt >= MAX_DRAW_ATTEMPTS) {
            revert QualityModuleDrawClosed(requestId, job.drawDeadline, nowTs);
        }
        if (!job.randomnessRequested) {
            _requestDraw(requestId, job, job.drawAttempt);
            return false;
        }
        bytes32 key = _randomnessKey(requestId, job.drawAttempt);
        if (_randomness.isExpired(address(this), key)) return _redraw(requestId, job);
        if (!_randomness.isReady(address(this), key)) revert QualityModuleRandomnessNotReady(requestId);
        QualityConfig storage cfg = _configs[job.configHash];
        address[] memory excluded = new address[](2);
        excluded[0] = job.operator;
        excluded[1] = IInferenceMarket(_market).getRequest(requestId).requester;
        address[] memory picked = PoolDraw.draw(
            PoolDraw.Draw({
                vault: _vault,
                modelId: job.modelId,
                role: IStakingVault.Role.Validator,
                snapshotBlock: job.snapshotBlock,
                seed: _randomness.randomness(address(this), key),
                seats: cfg.committeeSize,
                maxProbes: MAX_PROBES
            }),
            excluded
        );
        // INVARIANT: a response is judged by a full committee or not at all (never a short or empty one).
        if (picked.length < cfg.committeeSize) return _redraw(requestId, job);
        job.drawn = true;
        job.commitDeadline = nowTs + cfg.commitWindow;
        job.revealDeadline = job.commitDeadline + cfg.revealWindow;
        _seat(requestId, job.modelId, picked, cfg.validatorStake);
        emit CommitteeDrawn(requestId, job.modelId, picked, job.commitDeadline, job.revealDeadline);
        return true;
    }

    /// @dev Seats the drawn members and locks each one's duty stake (free stake, then its pool bond).
    function _seat(uint256 requestId, uint256 modelId, address[] memory picked, uint256 duty) private {
        Member[] storage members = _members[requestId];
        for (uint256 i = 0; i < picked.length; ++i) {
            address validator = picked[i];
            members.push(Member({validator: validator, commitment: bytes32(0), score: 0, revealed: false}));
            _memberSlot[requestId][validator] = i + 1;
            _vault.lockDuty(memberLockId(requestId, validator), validator, modelId, IStakingVault.Role.Validator, duty);
        }
    }

    /// @inheritdoc IQualityModule
    function commitScore(uint256 requestId, bytes32 commitment) external {
        Job storage job = _requireJob(requestId);
        Member storage m = _requireMember(requestId, msg.sender);
        if (_now() > job.commitDeadline) revert QualityModuleCommitClosed(requestId, job.commitDeadline, _now());
        if (m.commitment != bytes32(0)) revert QualityModuleAlreadyCommitted(requestId, msg.sender);
        if (commitment == bytes32(0)) revert QualityModuleEmptyCommitment(requestId);
        m.commitment = commitment;
        ++job.commits;
        emit ScoreCommitted(requestId, msg.sender, commitment);
    }

    /// @inheritdoc IQualityModule
    function revealScore(uint256 requestId, uint16 score, bytes32 salt) external {
        Job storage job = _requireJob(requestId);
        Member storage m = _requireMember(requestId, msg.sender);
        if (score > MAX_SCORE) revert QualityModuleBadScore(score);
        // INVARIANT: no score is revealed while anyone can still commit, so nobody can copy a score.
        uint64 nowTs = _now();
        bool commitsClosed = nowTs > job.commitDeadline || job.commits == _members[requestId].length;
        if (!commitsClosed || nowTs > job.revealDeadline) {
            revert QualityModuleRevealClosed(requestId, job.revealDeadline, nowTs);
        }
        if (m.commitment == bytes32(0) || m.revealed) revert QualityModuleCannotReveal(requestId, msg.sender);
        if (commitmentOf(requestId, msg.sender, score, salt) != m.commitment) {
            revert QualityModuleBadReveal(requestId, msg.sender);
        }
        m.score = score;
        m.revealed = true;
        ++job.reveals;
        emit ScoreRevealed(requestId, msg.sender, score);
    }

    /// @inheritdoc IQualityModule
    function resolve(uint256 requestId) external nonReentrant {
        Job storage job = _requireJob(requestId);
        if (job.resolved) revert QualityModuleAlreadyResolved(requestId);
        Member[] storage members = _members[requestId];
        uint256 n = members.length;
        _requireResolvable(requestId, job, n);
        QualityConfig storage cfg = _configs[job.configHash];

        uint16[] memory scores = new uint16[](job.reveals);
        uint256 r;
        for (uint256 i = 0; i < n; ++i) {
            if (members[i].revealed) scores[r++] = members[i].score;
        }
        uint16 med = scores.median();
        bool quorum = job.reveals >= cfg.minReveals;
        job.resolved = true;
        job.quorum = quorum;
        job.median = med;
        job.accepted = quorum && med >= cfg.threshold;
        emit QualityResolved(requestId, job.accepted, med, job.reveals);

        _settleMembers(requestId, members, cfg, quorum, med);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IQualityModule
    function commitmentOf(
        uint256 requestId,
        address validator,
        uint16 score,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(requestId, validator, score, salt));
    }

    /// @inheritdoc IQualityModule
    function getJob(uint256 requestId) external view returns (Job memory) {
        return _jobs[requestId];
    }

    /// @inheritdoc IQualityModule
    function getMembers(uint256 requestId) external view returns (Member[] memory) {
        return _members[requestId];
    }

    /// @inheritdoc IQualityModule
    function isDrawReady(uint256 requestId) external view returns (bool) {
        Job storage job = _jobs[requestId];
        bytes32 key = _randomnessKey(requestId, job.drawAttempt);
        return
            job.operator != address(0) &&
            !job.drawn &&
            _now() <= job.drawDeadline &&
            job.drawAttempt < MAX_DRAW_ATTEMPTS &&
            (!job.randomnessRequested ||
                _randomness.isReady(address(this), key) ||
                _randomness.isExpired(address(this), key));
    }

    /// @inheritdoc IQualityModule
    function memberLockId(uint256 requestId, address validator) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), requestId, validator));
    }

    /// @notice The config a request is judged by.
    function configOf(uint256 requestId) external view returns (QualityConfig memory) {
        return _configs[_jobs[requestId].configHash];
    }

    /// @notice The market this module serves.
    function market() external view returns (address) {
        return _market;
    }

    /// @notice The vault holding operator and validator stakes.
    function vault() external view returns (IStakingVault) {
        return _vault;
    }

    /// @notice The source of committee randomness.
    function randomnessSource() external view returns (IRandomnessSource) {
        return _randomness;
    }

    // ---------------------------------------------------------------- internals

    function _validate(QualityConfig memory cfg) private pure {
        // INVARIANT: an odd committee, so a median is a member's score: in an even one, half the seats (requester
        // sybils) pull the median midway and every honest member becomes an outlier.
        if (cfg.committeeSize == 0 || cfg.committeeSize > MAX_COMMITTEE || cfg.committeeSize % 2 == 0) {
            revert QualityModuleBadConfig("committeeSize", cfg.committeeSize);
        }
        // INVARIANT: blocking a quorum (a refund without a verdict) takes as many silent members as rejecting
        // outright does, a committee majority; and silence always costs stake.
        if (cfg.minReveals == 0 || cfg.minReveals > cfg.committeeSize / 2 + 1) {
            revert QualityModuleBadConfig("minReveals", cfg.minReveals);
        }
        if (cfg.threshold > MAX_SCORE) revert QualityModuleBadConfig("threshold", cfg.threshold);
        if (cfg.outlierDistance > MAX_SCORE) revert QualityModuleBadConfig("outlierDistance", cfg.outlierDistance);
        // INVARIANT: no window is too short for an honest validator to act in (it would be slashed on time).
        if (cfg.commitWindow < MIN_WINDOW || cfg.commitWindow > MAX_WINDOW) {
            revert QualityModuleBadConfig("commitWindow", cfg.commitWindow);
        }
        if (cfg.revealWindow < MIN_WINDOW || cfg.revealWindow > MAX_WINDOW) {
            revert QualityModuleBadConfig("revealWindow", cfg.revealWindow);
        }
        if (cfg.maxInlineBytes == 0 || cfg.maxInlineBytes > MAX_INLINE_BYTES) {
            revert QualityModuleBadConfig("maxInlineBytes", cfg.maxInlineBytes);
        }
        if (cfg.operatorSlashBps > _BPS) revert QualityModuleBadConfig("operatorSlashBps", cfg.operatorSlashBps);
        if (cfg.outlierSlash > cfg.validatorStake) revert QualityModuleBadConfig("outlierSlash", cfg.outlierSlash);
        if (cfg.noRevealSlash == 0 || cfg.noRevealSlash > cfg.validatorStake) {
            revert QualityModuleBadConfig("noRevealSlash", cfg.noRevealSlash);
        }
    }

    /// @dev INVARIANT: a verdict is reached in bounded time: at the reveal deadline at the latest, or at the draw
    /// deadline (or out of draw attempts) when no committee could be drawn.
    function _requireResolvable(uint256 requestId, Job storage job, uint256 members) private view {
        uint64 nowTs = _now();
        if (job.drawn) {
            if (job.reveals == members || nowTs > job.revealDeadline) return;
            revert QualityModuleNotResolvable(requestId, job.revealDeadline, nowTs);
        }
        if (nowTs > job.drawDeadline || job.drawAttempt >= MAX_DRAW_ATTEMPTS) return;
        revert QualityModuleNotResolvable(requestId, job.drawDeadline, nowTs);
    }

    /// @dev Slashes non-revealers and outliers (to the treasury) and releases every member's lock.
    function _settleMembers(
        uint256 requestId,
        Member[] storage members,
        QualityConfig storage cfg,
        bool quorum,
        uint16 med
    ) private {
        uint256 n = members.length;
        if (n == 0) return;
        address treasury = _vault.treasury();
        for (uint256 i = 0; i < n; ++i) {
            Member storage m = members[i];
            bytes32 lockId = memberLockId(requestId, m.validator);
            uint256 penalty;
            if (!m.revealed) {
                penalty = cfg.noRevealSlash;
            } else if (quorum && QualityMedian.distance(m.score, med) > cfg.outlierDistance) {
                penalty = cfg.outlierSlash;
            }
            uint256 held = _vault.getLock(lockId).amount;
            if (penalty > held) penalty = held;
            if (penalty > 0) {
                _vault.slash(lockId, penalty, treasury);
                emit ValidatorPenalised(requestId, m.validator, m.revealed, penalty);
            }
            _vault.unlock(lockId);
        }
    }

    /// @dev Requests the randomness of draw `attempt`. The first fixes the pool every draw of the request uses
    /// (the previous block); redraws keep it, so a short or expired draw never lets new joiners in.
    /// A source that refuses (unfunded, misconfigured) never makes the submission revert: the attempt is
    /// retried by `drawCommittee` until the draw deadline, after which the request resolves without a committee.
    function _requestDraw(uint256 requestId, Job storage job, uint8 attempt) private returns (uint64 readyAt) {
        job.drawAttempt = attempt;
        // INVARIANT: the pool of a request's draws is fixed before any of its randomness was requested.
        if (attempt == 0 && job.snapshotBlock == 0) job.snapshotBlock = uint64(block.number - 1);
        try _randomness.request(_randomnessKey(requestId, attempt)) returns (uint64 ready) {
            job.randomnessRequested = true;
            readyAt = ready;
        } catch {
            job.randomnessRequested = false;
            emit CommitteeRandomnessRequestFailed(requestId, attempt);
        }
    }

    /// @dev Another draw with new randomness (same snapshot), while attempts are left.
    function _redraw(uint256 requestId, Job storage job) private returns (bool) {
        uint8 attempt = job.drawAttempt + 1;
        if (attempt >= MAX_DRAW_ATTEMPTS) {
            job.drawAttempt = attempt;
            emit CommitteeRandomnessRequested(requestId, attempt, 0);
            return false;
        }
        uint64 readyAt = _requestDraw(requestId, job, attempt);
        emit CommitteeRandomnessRequested(requestId, attempt, readyAt);
        return false;
    }

    /// @dev The market's active clock: stands still while the market is paused.
    function _now() private view returns (uint64) {
        return IInferenceMarket(_market).activeTime();
    }

    function _earnsReward(Job storage job, QualityConfig storage cfg, Member storage m) private view returns (bool) {
        if (!m.revealed) return false;
        if (!job.quorum) return true;
        return QualityMedian.distance(m.score, job.median) <= cfg.outlierDistance;
    }

    function _requireJob(uint256 requestId) private view returns (Job storage job) {
        job = _jobs[requestId];
        if (job.operator == address(0)) revert QualityModuleUnknownRequest(requestId);
    }

    function _requireMember(uint256 requestId, address validator) private view returns (Member storage) {
        uint256 slot = _memberSlot[requestId][validator];
        if (slot == 0) revert QualityModuleNotMember(requestId, validator);
        return _members[requestId][slot - 1];
    }

    function _randomnessKey(uint256 requestId, uint8 attempt) private pure returns (bytes32) {
        return keccak256(abi.encode("veriml.quality", requestId, attempt));
    }
}
