// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IArbitrator} from "../interfaces/IArbitrator.sol";
import {PoolDraw} from "../libraries/PoolDraw.sol";
import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {IRandomnessSource} from "../interfaces/IRandomnessSource.sol";
import {IStakingVault} from "../interfaces/IStakingVault.sol";
import {ISamplingModule} from "../interfaces/ISamplingModule.sol";
import {IVerificationModule} from "../interfaces/IVerificationModule.sol";

/// @title SamplingModule
/// @notice spML (Proof of Sampling): commit, random re-execution by a second staked operator, reveal,
/// arbitration on mismatch. See ISamplingModule for the protocol and docs/SAMPLING.md for the economics.
contract SamplingModule is ISamplingModule, Ownable2Step, ReentrancyGuard {
    uint16 private constant _BPS = 10_000;
    uint32 private constant _MAX_WINDOW = 7 days;
    /// @notice Shortest commit or reveal window a model config may set.
    uint32 public constant MIN_WINDOW = 5 minutes;
    uint64 private constant _MAX_ARBITRATION_TIMEOUT = 30 days;
    /// @dev Pool positions looked at per draw: bounds the gas of a draw whatever the size of the pool.
    uint256 private constant _MAX_PROBES = 32;
    /// @notice Time after the arbitrator's bound during which only a ruling, not the timeout, can end a dispute.
    uint64 public constant RESOLVE_GRACE = 1 hours;
    /// @dev Randomness requests per request (renewals after expiry or an empty draw) before it is refunded.
    uint8 private constant _MAX_RANDOMNESS_ATTEMPTS = 16;
    uint256 private constant _MAX_OUTPUT_BYTES = 4096;

    IInferenceMarket private immutable _market;
    IStakingVault private immutable _vault;
    IRandomnessSource private immutable _randomness;

    uint64 private _arbitrationTimeout;
    mapping(address arbitrator => bool) private _allowedArbitrators;
    mapping(uint256 requestId => Job) private _jobs;
    mapping(uint256 requestId => SamplingConfig) private _configs;
    mapping(uint256 requestId => bytes) private _operatorOutputs;
    mapping(uint256 requestId => bytes) private _samplerOutputs;
    mapping(uint256 requestId => address[]) private _drawn;

    constructor(
        address initialOwner,
        IInferenceMarket market_,
        IStakingVault vault_,
        IRandomnessSource randomness_,
        uint64 arbitrationTimeout_
    ) Ownable(initialOwner) {
        if (address(market_) == address(0) || address(vault_) == address(0) || address(randomness_) == address(0)) {
            revert SamplingModuleZeroAddress();
        }
        _market = market_;
        _vault = vault_;
        _randomness = randomness_;
        _setArbitrationTimeout(arbitrationTimeout_);
    }

    // ---------------------------------------------------------------- IVerificationModule

    /// @inheritdoc IVerificationModule
    function validateModelConfig(uint256 modelId, bytes calldata config) external view {
        SamplingConfig memory cfg = abi.decode(config, (SamplingConfig));
        if (cfg.sampleBps > _BPS) revert SamplingModuleInvalidBps(cfg.sampleBps);
        if (cfg.verifierFeeBps > _BPS) revert SamplingModuleInvalidBps(cfg.verifierFeeBps);
        if (cfg.samplerNoShowSlashBps > _BPS) revert SamplingModuleInvalidBps(cfg.samplerNoShowSlashBps);
        if (cfg.maxDraws == 0) revert SamplingModuleInvalidWindow(cfg.maxDraws);
        // INVARIANT: no window is too short for an honest party to act in (it would be slashed on time).
        if (cfg.commitWindow < MIN_WINDOW || cfg.commitWindow > _MAX_WINDOW)
            revert SamplingModuleInvalidWindow(cfg.commitWindow);
        if (cfg.revealWindow < MIN_WINDOW || cfg.revealWindow > _MAX_WINDOW)
            revert SamplingModuleInvalidWindow(cfg.revealWindow);
        // INVARIANT: only arbitrators governance vetted can rule on (and so slash) the operators of a model.
        if (!_allowedArbitrators[address(cfg.arbitrator)]) {
            revert SamplingModuleArbitratorNotAllowed(address(cfg.arbitrator));
        }
        uint64 resolution = cfg.arbitrator.maxResolutionTime() + RESOLVE_GRACE;
        // INVARIANT: a dispute is never cut short before the arbitrator can rule with everyone acting in time,
        // and anyone has RESOLVE_GRACE after that to have the ruling recorded before a timeout can win the race.
        if (_arbitrationTimeout < resolution) {
            revert SamplingModuleArbitrationTimeoutTooShort(_arbitrationTimeout, resolution);
        }
        if (!cfg.arbitrator.supportsModel(modelId)) {
            revert SamplingModuleArbitratorCannotServe(address(cfg.arbitrator), modelId);
        }
    }

    /// @inheritdoc IVerificationModule
    function verificationFee(bytes calldata config, uint256 price) external pure returns (uint256) {
        return (price * abi.decode(config, (SamplingConfig)).verifierFeeBps) / _BPS;
    }

    /// @inheritdoc IVerificationModule
    /// @dev A's commitment. Requests randomness keyed by the request: fixed only after this call, so A cannot
    /// know at commit time whether, or by whom, it will be checked.
    function onSubmit(Submission calldata submission, bytes calldata output, bytes calldata proof) external {
        if (msg.sender != address(_market)) revert SamplingModuleOnlyMarket(msg.sender);
        uint256 requestId = submission.requestId;
        // INVARIANT: nothing of A's output is public before B commits.
        if (output.length != 0) revert SamplingModuleOutputNotEmpty(requestId, output.length);
        if (proof.length != 32) revert SamplingModuleBadCommitment(requestId);
        bytes32 commitment = abi.decode(proof, (bytes32));
        if (commitment == bytes32(0)) revert SamplingModuleBadCommitment(requestId);
        Job storage job = _jobs[requestId];
        if (job.phase != Phase.None) revert SamplingModuleWrongPhase(requestId, job.phase);
        job.operator = submission.operator;
        job.phase = Phase.AwaitingRandomness;
        job.operatorCommitment = commitment;
        _configs[requestId] = abi.decode(submission.config, (SamplingConfig));
        emit OperatorCommitted(requestId, submission.operator, commitment);
        _requestRandomness(requestId, job, 0);
    }

    /// @inheritdoc IVerificationModule
    function isFinal(uint256 requestId) external view returns (bool) {
        return _jobs[requestId].phase == Phase.Final;
    }

    /// @inheritdoc IVerificationModule
    function settlement(uint256 requestId) external view returns (Settlement memory result) {
        Job storage job = _jobs[requestId];
        if (job.phase != Phase.Final) revert SamplingModuleNotFinal(requestId);
        IInferenceMarket.Request memory request = _market.getRequest(requestId);
        Verdict verdict = job.verdict;
        result.accepted = verdict != Verdict.Rejected;
        if (verdict == Verdict.AcceptedOperator) {
            result.output = _operatorOutputs[requestId];
            result.payee = job.operator;
        } else if (verdict == Verdict.AcceptedSampler) {
            result.output = _samplerOutputs[requestId];
            result.payee = job.sampler;
        }
        if (job.slashOperator) {
            result.operatorSlash = request.operatorStake;
            // INVARIANT: a slash decided by a ruling profits no party (a requester or party holding a committee
            // majority must not gain by it); a slash for silence goes to the requester, who waited for nothing.
            if (job.rewardArbitrators) result.slashBeneficiary = _vault.treasury();
        }
        if (job.rewardSampler) {
            result.rewards = new Reward[](1);
            result.rewards[0] = Reward({to: job.sampler, amount: request.verificationFee});
        } else if (job.rewardArbitrators) {
            result.rewards = _arbitrationRewards(requestId, job.disputeId, request.verificationFee);
        }
    }

    // ---------------------------------------------------------------- protocol

    /// @inheritdoc ISamplingModule
    function commitSampler(uint256 requestId, bytes32 commitment) external nonReentrant {
        Job storage job = _jobs[requestId];
        if (job.phase != Phase.SamplerDrawn) revert SamplingModuleWrongPhase(requestId, job.phase);
        if (msg.sender != job.sampler) revert SamplingModuleNotParty(requestId, msg.sender);
        uint64 nowTs = _now();
        if (nowTs > job.deadline) revert SamplingModuleDeadlinePassed(requestId, job.deadline, nowTs);
        // INVARIANT: every commitment opens to something; an empty one would count as a commit that binds nothing.
        if (commitment == bytes32(0)) revert SamplingModuleBadCommitment(requestId);
        uint64 revealDeadline = nowTs + _configs[requestId].revealWindow;
        job.samplerCommitment = commitment;
        job.phase = Phase.Revealing;
        job.deadline = revealDeadline;
        emit SamplerCommitted(requestId, msg.sender, commitment, revealDeadline);
    }

    /// @inheritdoc ISamplingModule
    function reveal(uint256 requestId, bytes calldata output, bytes32 salt) external nonReentrant {
        Job storage job = _jobs[requestId];
        Phase phase = job.phase;
        // INVARIANT: A reveals only once B is bound (committed) or the request is unsampled, so B never
        // sees A's output before committing.
        if (phase != Phase.Unsampled && phase != Phase.Revealing) revert SamplingModuleWrongPhase(requestId, phase);
        if (_now() > job.deadline) revert SamplingModuleDeadlinePassed(requestId, job.deadline, _now());
        if (output.length > _MAX_OUTPUT_BYTES) revert SamplingModuleOutputTooLarge(requestId, output.length);
        bool isSampler = phase == Phase.Revealing && msg.sender == job.sampler;
        if (!isSampler && msg.sender != job.operator) revert SamplingModuleNotParty(requestId, msg.sender);
        bytes32 committed = isSampler ? job.samplerCommitment : job.operatorCommitment;
        bytes32 outputHash = keccak256(output);
        bytes32 opened = keccak256(abi.encode(requestId, msg.sender, outputHash, salt));
        if (opened != committed) revert SamplingModuleCommitmentMismatch(requestId, msg.sender, committed, opened);
        if (isSampler ? job.samplerRevealed : job.operatorRevealed) {
            revert SamplingModuleAlreadyRevealed(requestId, msg.sender);
        }
        if (isSampler) {
            job.samplerRevealed = true;
            job.samplerOutputHash = outputHash;
            _samplerOutputs[requestId] = output;
        } else {
            job.operatorRevealed = true;
            job.operatorOutputHash = outputHash;
            _operatorOutputs[requestId] = output;
        }
        emit OutputRevealed(requestId, msg.sender, output);

        if (phase == Phase.Unsampled) {
            _finish(requestId, job, Verdict.AcceptedOperator, false, 0);
        } else if (job.operatorRevealed && job.samplerRevealed) {
            if (job.operatorOutputHash == job.samplerOutputHash) {
                job.rewardSampler = true;
                _finish(requestId, job, Verdict.AcceptedOperator, false, 0);
                _vault.unlock(samplerLockId(requestId, job.sampler));
            } else {
                _escalate(requestId, job);
            }
        }
    }

    /// @inheritdoc ISamplingModule
    function advance(uint256 requestId) external nonReentrant {
        Job storage job = _jobs[requestId];
        Phase phase = job.phase;
        if (phase == Phase.AwaitingRandomness) {
            if (!job.randomnessRequested) {
                if (_now() > job.deadline) return _randomnessExhausted(requestId, job);
                return _requestRandomness(requestId, job, job.attempt);
            }
            bytes32 key = randomnessKey(requestId, job.attempt);
            if (_randomness.isReady(address(this), key)) {
                _decide(requestId, job, _randomness.randomness(address(this), key));
            } else if (_randomness.isExpired(address(this), key)) {
                _renewRandomness(requestId, job);
            } else {
                revert SamplingModuleNothingDue(requestId, phase);
            }
            return;
        }
        if (phase == Phase.Disputed) {
            _applyRuling(requestId, job);
            return;
        }
        if (phase == Phase.None || phase == Phase.Final || _now() <= job.deadline) {
            revert SamplingModuleNothingDue(requestId, phase);
        }
        if (phase == Phase.SamplerDrawn) {
            _samplerNoShow(requestId, job);
        } else if (phase == Phase.Unsampled) {
            // A never revealed: treated like a caught cheat, so withholding a reveal never beats honesty.
            _finish(requestId, job, Verdict.Rejected, true, 0);
        } else {
            _revealTimeout(requestId, job);
        }
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc ISamplingModule
    function setArbitratorAllowed(address arbitrator, bool allowed) external onlyOwner {
        if (arbitrator == address(0)) revert SamplingModuleZeroAddress();
        _allowedArbitrators[arbitrator] = allowed;
        emit ArbitratorAllowed(arbitrator, allowed);
    }

    /// @inheritdoc ISamplingModule
    function setArbitrationTimeout(uint64 timeout) external onlyOwner {
        _setArbitrationTimeout(timeout);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ISamplingModule
    function canAdvance(uint256 requestId) external view returns (bool) {
        Job storage job = _jobs[requestId];
        Phase phase = job.phase;
        if (phase == Phase.AwaitingRandomness) {
            if (!job.randomnessRequested) return true;
            bytes32 key = randomnessKey(requestId, job.attempt);
            return _randomness.isReady(address(this), key) || _randomness.isExpired(address(this), key);
        }
        if (phase == Phase.Disputed) {
            return
                !job.disputeOpened || job.deadline < _now() || _configs[requestId].arbitrator.isResolved(job.disputeId);
        }
        return phase != Phase.None && phase != Phase.Final && _now() > job.deadline;
    }

    /// @inheritdoc ISamplingModule
    function getJob(uint256 requestId) external view returns (Job memory) {
        return _jobs[requestId];
    }

    /// @inheritdoc ISamplingModule
    function configOf(uint256 requestId) external view returns (SamplingConfig memory) {
        return _configs[requestId];
    }

    /// @inheritdoc ISamplingModule
    function samplersOf(uint256 requestId) external view returns (address[] memory) {
        return _drawn[requestId];
    }

    /// @inheritdoc ISamplingModule
    function revealedOutput(uint256 requestId, bool sampler) external view returns (bytes memory) {
        return sampler ? _samplerOutputs[requestId] : _operatorOutputs[requestId];
    }

    /// @inheritdoc ISamplingModule
    function commitmentOf(
        uint256 requestId,
        address party,
        bytes calldata output,
        bytes32 salt
    ) external pure returns (bytes32) {
        return keccak256(abi.encode(requestId, party, keccak256(output), salt));
    }

    /// @inheritdoc ISamplingModule
    function samplerLockId(uint256 requestId, address sampler) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), requestId, sampler));
    }

    /// @inheritdoc ISamplingModule
    function randomnessKey(uint256 requestId, uint8 attempt) public pure returns (bytes32) {
        return keccak256(abi.encode(requestId, attempt));
    }

    /// @inheritdoc ISamplingModule
    function isArbitratorAllowed(address arbitrator) external view returns (bool) {
        return _allowedArbitrators[arbitrator];
    }

    /// @inheritdoc ISamplingModule
    function arbitrationTimeout() external view returns (uint64) {
        return _arbitrationTimeout;
    }

    /// @notice The market this module serves.
    function market() external view returns (IInferenceMarket) {
        return _market;
    }

    /// @notice The staking vault holding the samplers' stakes.
    function vault() external view returns (IStakingVault) {
        return _vault;
    }

    /// @notice The randomness source of sampling decisions and draws.
    function randomnessSource() external view returns (IRandomnessSource) {
        return _randomness;
    }

    // ---------------------------------------------------------------- internals

    function _decide(uint256 requestId, Job storage job, uint256 seed) private {
        bool sampled = job.forced || seed % _BPS < _configs[requestId].sampleBps;
        job.seed = seed;
        job.sampled = sampled;
        emit SamplingDecided(requestId, sampled, job.forced);
        if (sampled) {
            _drawSampler(requestId, job);
        } else {
            _openOperatorReveal(job, requestId);
        }
    }

    /// @dev Requests randomness for `attempt`. The first request fixes the pool every draw of this request
    /// uses: the state at the end of the previous block, which nobody can change any more. Renewals and
    /// redraws keep it, so letting randomness expire or a draw come up short never lets new joiners in.
    /// A source that refuses never makes A's submission revert: the request is retried by `advance` for one
    /// commit window, then refunded (nobody slashed).
    function _requestRandomness(uint256 requestId, Job storage job, uint8 attempt) private {
        job.attempt = attempt;
        // INVARIANT: the pool of a request's draws is fixed before any of its randomness was requested.
        if (attempt == 0 && job.snapshotBlock == 0) job.snapshotBlock = uint64(block.number - 1);
        try _randomness.request(randomnessKey(requestId, attempt)) {
            job.randomnessRequested = true;
            job.deadline = 0;
        } catch {
            if (job.randomnessRequested || job.deadline == 0) {
                job.deadline = _now() + _configs[requestId].commitWindow;
            }
            job.randomnessRequested = false;
            emit RandomnessRequestFailed(requestId, attempt, job.deadline);
        }
    }

    /// @dev No randomness to be had: refunded, nobody slashed (A cannot make a source fail or keep expiring
    /// values, and a refund never pays a cheat).
    function _randomnessExhausted(uint256 requestId, Job storage job) private {
        emit RandomnessExhausted(requestId, job.attempt);
        _finish(requestId, job, Verdict.Rejected, false, 0);
    }

    /// @dev Expired randomness is renewed, and the request is then sampled whatever the new value: letting
    /// an unfavourable draw expire can never help A.
    function _renewRandomness(uint256 requestId, Job storage job) private {
        if (job.attempt + 1 >= _MAX_RANDOMNESS_ATTEMPTS) return _randomnessExhausted(requestId, job);
        uint8 attempt = job.attempt + 1;
        job.forced = true;
        job.phase = Phase.AwaitingRandomness;
        emit RandomnessRenewed(requestId, attempt);
        _requestRandomness(requestId, job, attempt);
    }

    /// @dev Draws a sampler from the operator pool snapshot: neither A nor one drawn before for this request,
    /// with free stake for the model's lock. A draw that finds nobody is retried with new randomness (same
    /// snapshot); once `maxDraws` are used the request is refunded, never let through unsampled.
    function _drawSampler(uint256 requestId, Job storage job) private {
        IInferenceMarket.Request memory request = _market.getRequest(requestId);
        SamplingConfig storage cfg = _configs[requestId];
        address[] storage drawn = _drawn[requestId];
        if (job.draws >= cfg.maxDraws) {
            emit SamplerUnavailable(requestId, job.draws);
            // INVARIANT: a request selected for sampling is never accepted without a second execution.
            _finish(requestId, job, Verdict.Rejected, false, 0);
            return;
        }
        uint8 draw = job.draws + 1;
        job.draws = draw;
        // INVARIANT: the sampler is neither the operator, an earlier sampler, nor the requester: a requester drawn
        // as its own sampler could stay away and be paid the no-show slash, or force a dispute over a paid answer.
        address[] memory excluded = new address[](drawn.length + 2);
        excluded[0] = job.operator;
        excluded[1] = request.requester;
        for (uint256 i = 0; i < drawn.length; ++i) excluded[i + 2] = drawn[i];
        address[] memory picked = PoolDraw.draw(
            PoolDraw.Draw({
                vault: _vault,
                modelId: request.modelId,
                role: IStakingVault.Role.Operator,
                snapshotBlock: job.snapshotBlock,
                seed: uint256(keccak256(abi.encode(job.seed, draw))),
                seats: 1,
                maxProbes: _MAX_PROBES
            }),
            excluded
        );
        if (picked.length == 0) {
            emit SamplerUnavailable(requestId, draw);
            if (draw >= cfg.maxDraws) return _finish(requestId, job, Verdict.Rejected, false, 0);
            job.sampler = address(0);
            return _renewRandomness(requestId, job);
        }
        address sampler = picked[0];
        uint64 commitDeadline = _now() + cfg.commitWindow;
        drawn.push(sampler);
        job.sampler = sampler;
        job.phase = Phase.SamplerDrawn;
        job.deadline = commitDeadline;
        emit SamplerDrawn(requestId, sampler, commitDeadline, draw);
        // B is seated whatever others did to its free stake since the snapshot; it backs the duty with what it has.
        _vault.lockDuty(
            samplerLockId(requestId, sampler),
            sampler,
            request.modelId,
            IStakingVault.Role.Operator,
            request.operatorStake
        );
    }

    function _openOperatorReveal(Job storage job, uint256 requestId) private {
        job.phase = Phase.Unsampled;
        job.deadline = _now() + _configs[requestId].revealWindow;
    }

    function _samplerNoShow(uint256 requestId, Job storage job) private {
        address sampler = job.sampler;
        IInferenceMarket.Request memory request = _market.getRequest(requestId);
        uint256 slashed = _samplerSlash(
            requestId,
            sampler,
            (request.operatorStake * _configs[requestId].samplerNoShowSlashBps) / _BPS
        );
        emit SamplerNoShow(requestId, sampler, slashed);
        _releaseSampler(requestId, sampler, slashed, request.requester);
        _drawSampler(requestId, job);
    }

    /// @dev Reveal window over with at most one reveal. A silent A is slashed like a caught cheat; a silent B
    /// (after committing) loses its whole lock; a revealed B is paid for its work when A stays silent.
    function _revealTimeout(uint256 requestId, Job storage job) private {
        IInferenceMarket.Request memory request = _market.getRequest(requestId);
        uint256 samplerSlash = job.samplerRevealed ? 0 : _samplerSlash(requestId, job.sampler, request.operatorStake);
        if (job.samplerRevealed) job.rewardSampler = true;
        Verdict verdict = job.operatorRevealed ? Verdict.AcceptedOperator : Verdict.Rejected;
        _finish(requestId, job, verdict, !job.operatorRevealed, samplerSlash);
        _releaseSampler(requestId, job.sampler, samplerSlash, request.requester);
    }

    /// @dev Opens the dispute at the model's arbitrator. A refusal (or a revert for any reason, including gas)
    /// never undoes the reveal that triggered it: the dispute stays pending and `advance` retries it until
    /// the deadline, after which it ends undecided.
    function _escalate(uint256 requestId, Job storage job) private {
        IArbitrator arbitrator = _configs[requestId].arbitrator;
        IInferenceMarket.Request memory request = _market.getRequest(requestId);
        if (job.phase != Phase.Disputed) {
            job.phase = Phase.Disputed;
            job.deadline = _now() + _disputeTimeout(arbitrator);
        }
        try
            arbitrator.openDispute(
                requestId,
                request.modelId,
                request.inputHash,
                [job.operator, job.sampler],
                [job.operatorOutputHash, job.samplerOutputHash],
                request.requester
            )
        returns (uint256 disputeId) {
            job.disputeId = disputeId;
            job.disputeOpened = true;
            // The arbitrator's own clock starts now: wait for it in full.
            job.deadline = _now() + _disputeTimeout(arbitrator);
            emit DisputeEscalated(requestId, address(arbitrator), disputeId);
        } catch {
            emit DisputeOpenFailed(requestId, address(arbitrator), job.deadline);
        }
    }

    /// @dev How long a dispute may take: the governance timeout, and never less than the arbitrator's bound.
    function _disputeTimeout(IArbitrator arbitrator) private view returns (uint64) {
        uint64 bound = arbitrator.maxResolutionTime() + RESOLVE_GRACE;
        return bound > _arbitrationTimeout ? bound : _arbitrationTimeout;
    }

    /// @dev The party whose output differs from the ruling loses its whole lock. Without a decision (no quorum,
    /// or the arbitrator timed out) nobody can be shown wrong: the requester is refunded and nobody slashed.
    function _applyRuling(uint256 requestId, Job storage job) private {
        IArbitrator arbitrator = _configs[requestId].arbitrator;
        if (!job.disputeOpened && _now() <= job.deadline) return _escalate(requestId, job);
        bool resolved = job.disputeOpened && arbitrator.isResolved(job.disputeId);
        if (!resolved && _now() <= job.deadline) revert SamplingModuleNothingDue(requestId, Phase.Disputed);
        IInferenceMarket.Request memory request = _market.getRequest(requestId);
        address sampler = job.sampler;
        if (!resolved) {
            _finish(requestId, job, Verdict.Rejected, false, 0);
            _releaseSampler(requestId, sampler, 0, request.requester);
            return;
        }
        IArbitrator.Ruling memory ruled = arbitrator.ruling(job.disputeId);
        job.rewardArbitrators = ruled.decided;
        if (!ruled.decided) {
            _finish(requestId, job, Verdict.Rejected, false, 0);
            _releaseSampler(requestId, sampler, 0, request.requester);
        } else if (ruled.outputHash == job.operatorOutputHash) {
            // B lied or was lazy: its lock goes to the treasury (never to a party a ruling could favour).
            uint256 slashed = _samplerSlash(requestId, sampler, request.operatorStake);
            _finish(requestId, job, Verdict.AcceptedOperator, false, slashed);
            _releaseSampler(requestId, sampler, slashed, _vault.treasury());
        } else if (ruled.outputHash == job.samplerOutputHash) {
            // A cheated: the requester gets B's (correct) output, B is paid as the operator, A is slashed.
            _finish(requestId, job, Verdict.AcceptedSampler, true, 0);
            _releaseSampler(requestId, sampler, 0, request.requester);
        } else {
            uint256 slashed = _samplerSlash(requestId, sampler, request.operatorStake);
            _finish(requestId, job, Verdict.Rejected, true, slashed);
            _releaseSampler(requestId, sampler, slashed, _vault.treasury());
        }
    }

    function _finish(
        uint256 requestId,
        Job storage job,
        Verdict verdict,
        bool slashOperator,
        uint256 samplerSlashed
    ) private {
        job.phase = Phase.Final;
        job.verdict = verdict;
        job.slashOperator = slashOperator;
        job.deadline = 0;
        emit VerdictReached(requestId, verdict, slashOperator, samplerSlashed, job.rewardSampler);
    }

    /// @dev `amount`, at most what the sampler's lock holds (lockDuty may have locked less than the stake).
    function _samplerSlash(uint256 requestId, address sampler, uint256 amount) private view returns (uint256) {
        uint256 held = _vault.getLock(samplerLockId(requestId, sampler)).amount;
        return amount < held ? amount : held;
    }

    /// @dev Slashes `amount` (capped by _samplerSlash) of the sampler's lock for `beneficiary`, releases the rest.
    function _releaseSampler(uint256 requestId, address sampler, uint256 amount, address beneficiary) private {
        bytes32 lockId = samplerLockId(requestId, sampler);
        amount = _samplerSlash(requestId, sampler, amount);
        if (amount > 0) _vault.slash(lockId, amount, beneficiary);
        _vault.unlock(lockId);
    }

    /// @dev The fee is shared equally by the accounts the (decided) ruling names; rounding dust is refunded.
    function _arbitrationRewards(
        uint256 requestId,
        uint256 disputeId,
        uint256 fee
    ) private view returns (Reward[] memory rewards) {
        IArbitrator.Ruling memory ruled = _configs[requestId].arbitrator.ruling(disputeId);
        uint256 count = ruled.rewarded.length;
        if (count == 0) return rewards;
        rewards = new Reward[](count);
        uint256 share = fee / count;
        for (uint256 i = 0; i < count; ++i) rewards[i] = Reward({to: ruled.rewarded[i], amount: share});
    }

    /// @dev The market's active clock: stands still while the market is paused.
    function _now() private view returns (uint64) {
        return _market.activeTime();
    }

    function _setArbitrationTimeout(uint64 timeout) private {
        if (timeout == 0 || timeout > _MAX_ARBITRATION_TIMEOUT) revert SamplingModuleInvalidWindow(timeout);
        _arbitrationTimeout = timeout;
        emit ArbitrationTimeoutSet(timeout);
    }
}
