// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ERC165Checker} from "@openzeppelin/contracts/utils/introspection/ERC165Checker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IActiveClock} from "./interfaces/IActiveClock.sol";
import {IAIOracleConsumer} from "./interfaces/IAIOracleConsumer.sol";
import {IInferenceMarket} from "./interfaces/IInferenceMarket.sol";
import {IInstantVerificationModule} from "./interfaces/IInstantVerificationModule.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IStakingVault} from "./interfaces/IStakingVault.sol";
import {IVerificationModule} from "./interfaces/IVerificationModule.sol";

/// @title InferenceMarket
/// @notice Escrow and lifecycle of paid inference requests. Money moves only by pull: settlement
/// credits balances that their owners withdraw, so a hostile recipient cannot block anyone else.
contract InferenceMarket is IInferenceMarket, Ownable2Step, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @dev A request as stored: three words, written at creation (the callback address in its own mapping,
    /// only when there is one). Everything else it is judged and paid under is its Terms. Word 0 holds all a
    /// settlement of an open request reads and writes but the commitment, so settling one touches two words
    /// that are already nonzero and no fresh slot.
    struct StoredRequest {
        // word 0
        Status status;
        uint40 deadline;
        uint24 termsId;
        address operator;
        uint24 callbackGasLimit;
        // word 1
        address requester;
        uint40 claimDeadline;
        // word 2: the input hash until the request is finalized; then the result hash (keccak256 of the
        // accepted output, zero for a rejected result). The input hash stays in RequestCreated.
        bytes32 commitment;
    }

    /// @dev What an accepted instant request pays, from its terms.
    struct Payout {
        address token;
        uint256 verificationFee;
        uint256 operatorPayment;
        uint256 protocolFee;
    }

    /// @dev Pause accounting of the active clock: total paused seconds, and when the current pause began.
    struct PauseClock {
        uint64 total;
        uint64 since;
    }

    /// @dev What requests are judged and paid under, stored once per distinct tuple and shared.
    struct Terms {
        address module;
        uint8 mode;
        bool instant;
        uint80 modelId;
        address token;
        uint128 price;
        uint128 verificationFee;
        uint256 operatorStake;
        bytes32 configHash;
        bytes config;
    }

    uint16 private constant _BPS = 10_000;
    uint16 private constant _MAX_PROTOCOL_FEE_BPS = 2_000;
    uint64 private constant _MIN_CLAIM_WINDOW = 1 minutes;
    uint64 private constant _MAX_CLAIM_WINDOW = 30 days;
    uint32 private constant _MAX_CALLBACK_GAS_CAP = 10_000_000;
    /// @dev Gas kept back for the work after the callback (event, return).
    uint256 private constant _CALLBACK_OVERHEAD = 10_000;

    IModelRegistry private immutable _registry;
    IStakingVault private immutable _vault;

    mapping(uint256 requestId => StoredRequest) private _requests;
    /// @dev Where a request's result goes (set at creation only when there is a callback).
    mapping(uint256 requestId => address) private _callbacks;
    /// @dev Terms snapshots by id (ids start at 1), and the id of each terms key. A request is judged by its
    /// terms (module, mode config, stake) even if the model owner later changes or disables the mode.
    mapping(uint256 termsId => Terms) private _terms;
    mapping(bytes32 termsKey => uint32) private _termsIds;
    uint256 private _termsCount;
    mapping(address account => mapping(address token => uint256)) private _owed;
    mapping(address token => uint256) private _liabilities;
    mapping(address token => bool) private _allowedTokens;

    uint256 private _requestCount;
    address private _treasury;
    uint16 private _protocolFeeBps;
    uint16 private _noShowSlashBps;
    uint64 private _claimWindow;
    uint32 private _maxCallbackGas;
    PauseClock private _pauseClock;

    /// @notice Market parameters set at deployment (each can be changed later by governance).
    struct Parameters {
        address treasury;
        uint16 protocolFeeBps;
        uint16 noShowSlashBps;
        uint64 claimWindow;
        uint32 maxCallbackGas;
    }

    constructor(
        address initialOwner,
        IModelRegistry registry_,
        IStakingVault vault_,
        Parameters memory params
    ) Ownable(initialOwner) {
        if (address(registry_) == address(0) || address(vault_) == address(0)) revert InferenceMarketZeroAddress();
        _registry = registry_;
        _vault = vault_;
        _setTreasury(params.treasury);
        _setProtocolFee(params.protocolFeeBps);
        _setNoShowSlash(params.noShowSlashBps);
        _setClaimWindow(params.claimWindow);
        _setMaxCallbackGas(params.maxCallbackGas);
    }

    // ---------------------------------------------------------------- requester

    /// @inheritdoc IInferenceMarket
    /// @dev Not nonReentrant on purpose: consumer contracts may chain a new request from their callback.
    /// State is written before the payment is pulled (checks-effects-interactions).
    function createRequest(RequestParams calldata params) external payable whenNotPaused returns (uint256 requestId) {
        (IVerificationModule module, uint256 operatorStake) = _registry.requireServable(params.modelId, params.mode);
        bytes memory config = _registry.modeConfig(params.modelId, params.mode);
        // INVARIANT: a request is judged under the stake and config its requester pinned, never under terms
        // swapped in front of it.
        if (params.termsHash != bytes32(0)) {
            bytes32 current = keccak256(abi.encode(operatorStake, config));
            if (params.termsHash != current) {
                revert InferenceMarketTermsChanged(params.modelId, params.mode, params.termsHash, current);
            }
        }
        (uint256 price, uint256 fee) = _quote(params.modelId, params.token, module, config);
        uint256 required = price + fee;
        if (params.maxFee < required) revert InferenceMarketFeeTooLow(params.maxFee, required);
        if (params.deadline <= block.timestamp) revert InferenceMarketDeadlineInPast(params.deadline, block.timestamp);
        _checkCallback(params.callback, params.callbackGasLimit);
        uint32 termsId = _termsIdFor(params, module, operatorStake, price, fee, config);

        requestId = ++_requestCount;
        // Not paused here, so active time is unix time minus the past pauses.
        uint40 deadline = SafeCast.toUint40(params.deadline - _pauseClock.total);
        _requests[requestId] = StoredRequest({
            status: Status.Open,
            deadline: deadline,
            termsId: uint24(termsId),
            operator: address(0),
            callbackGasLimit: SafeCast.toUint24(params.callbackGasLimit),
            requester: msg.sender,
            claimDeadline: 0,
            commitment: _inputHash(params)
        });
        if (params.callback != address(0)) _callbacks[requestId] = params.callback;
        _liabilities[params.token] += required;
        _emitCreated(requestId, params, price, fee, deadline);
        _collectPayment(params.token, params.maxFee, required);
    }

    /// @inheritdoc IInferenceMarket
    function refund(uint256 requestId) external nonReentrant {
        StoredRequest storage request = _requireRequest(requestId);
        Status status = request.status;
        if (status != Status.Open && status != Status.Claimed) revert InferenceMarketWrongStatus(requestId, status);
        // INVARIANT: a request can be refunded only once its deadline has passed unanswered (in active time,
        // so a pause never makes an operator a no-show).
        uint64 nowActive = activeTime();
        if (nowActive <= request.deadline) revert InferenceMarketDeadline(requestId, request.deadline, nowActive);
        Terms storage terms = _terms[request.termsId];
        address operator = request.operator;
        address requester = request.requester;
        request.status = Status.Refunded;
        uint256 amount = uint256(terms.price) + terms.verificationFee;
        _credit(requester, terms.token, amount);
        emit RequestRefunded(requestId, requester, amount);
        if (status == Status.Claimed) _penaliseNoShow(requestId, terms.operatorStake, requester, operator);
    }

    /// @inheritdoc IInferenceMarket
    function withdraw(address token) external nonReentrant {
        uint256 amount = _owed[msg.sender][token];
        if (amount == 0) revert InferenceMarketNothingOwed(msg.sender, token);
        _owed[msg.sender][token] = 0;
        _liabilities[token] -= amount;
        emit PaymentWithdrawn(msg.sender, token, amount);
        if (token == address(0)) {
            Address.sendValue(payable(msg.sender), amount);
        } else {
            IERC20(token).safeTransfer(msg.sender, amount);
        }
    }

    // ---------------------------------------------------------------- operator

    /// @inheritdoc IInferenceMarket
    function claim(uint256 requestId) external whenNotPaused nonReentrant {
        StoredRequest storage request = _requireRequest(requestId);
        if (request.status != Status.Open) revert InferenceMarketWrongStatus(requestId, request.status);
        uint64 nowActive = activeTime();
        if (nowActive > request.deadline) revert InferenceMarketDeadline(requestId, request.deadline, nowActive);
        Terms storage terms = _terms[request.termsId];
        _requireServing(terms.modelId);
        uint64 claimDeadline = nowActive + _claimWindow;
        if (claimDeadline > request.deadline) claimDeadline = request.deadline;
        // Fits: the claim deadline is at most the request's deadline, a uint40.
        request.status = Status.Claimed;
        request.operator = msg.sender;
        request.claimDeadline = uint40(claimDeadline);
        emit RequestClaimed(requestId, msg.sender, claimDeadline);
        _vault.lock(operatorLockId(requestId, msg.sender), msg.sender, terms.operatorStake);
    }

    /// @inheritdoc IInferenceMarket
    function submitResult(
        uint256 requestId,
        bytes calldata output,
        bytes calldata proof
    ) external whenNotPaused nonReentrant {
        StoredRequest storage request = _requireRequest(requestId);
        if (request.status != Status.Claimed) revert InferenceMarketWrongStatus(requestId, request.status);
        if (msg.sender != request.operator) {
            revert InferenceMarketWrongOperator(requestId, msg.sender, request.operator);
        }
        uint64 nowActive = activeTime();
        if (nowActive > request.claimDeadline) {
            revert InferenceMarketClaimWindow(requestId, request.claimDeadline, nowActive);
        }
        request.status = Status.Submitted;
        emit ResultSubmitted(requestId, msg.sender, output);
        Terms storage terms = _terms[request.termsId];
        IVerificationModule(terms.module).onSubmit(
            _submission(requestId, request, terms, request.operator),
            output,
            proof
        );
    }

    /// @inheritdoc IInferenceMarket
    function reopen(uint256 requestId) external nonReentrant {
        StoredRequest storage request = _requireRequest(requestId);
        if (request.status != Status.Claimed) revert InferenceMarketWrongStatus(requestId, request.status);
        // INVARIANT: an operator is a no-show only once its whole claim window has passed in active time.
        uint64 nowActive = activeTime();
        if (nowActive <= request.claimDeadline) {
            revert InferenceMarketClaimWindow(requestId, request.claimDeadline, nowActive);
        }
        address operator = request.operator;
        request.status = Status.Open;
        request.operator = address(0);
        request.claimDeadline = 0;
        uint256 slashed = _penaliseNoShow(
            requestId,
            _terms[request.termsId].operatorStake,
            request.requester,
            operator
        );
        emit RequestReopened(requestId, operator, slashed);
    }

    // ---------------------------------------------------------------- settlement

    /// @inheritdoc IInferenceMarket
    function finalize(uint256 requestId) external nonReentrant {
        StoredRequest storage request = _requireRequest(requestId);
        // INVARIANT: a request pays out at most once: only a Submitted request settles, and settling ends it.
        if (request.status != Status.Submitted) revert InferenceMarketWrongStatus(requestId, request.status);
        Terms storage terms = _terms[request.termsId];
        IVerificationModule module = IVerificationModule(terms.module);
        if (!module.isFinal(requestId)) revert InferenceMarketNotFinal(requestId);
        IVerificationModule.Settlement memory settlement = module.settlement(requestId);

        uint256 rewardsTotal = _rewardsTotal(settlement.rewards);
        // INVARIANT: escrow stays solvent: a module can hand out at most the fee escrowed for it.
        if (rewardsTotal > terms.verificationFee) {
            revert InferenceMarketRewardsExceedFee(requestId, rewardsTotal, terms.verificationFee);
        }
        if (settlement.operatorSlash > terms.operatorStake) {
            revert InferenceMarketSlashExceedsStake(requestId, settlement.operatorSlash, terms.operatorStake);
        }

        request.status = Status.Finalized;
        address token = terms.token;
        address operator = request.operator;
        for (uint256 i = 0; i < settlement.rewards.length; ++i) {
            address to = settlement.rewards[i].to;
            if (to != address(0)) _credit(to, token, settlement.rewards[i].amount);
        }
        uint256 unusedFee = terms.verificationFee - rewardsTotal;
        if (settlement.accepted) {
            // A module that names no payee pays the assigned operator.
            address payee = settlement.payee == address(0) ? operator : settlement.payee;
            (uint256 operatorPayment, uint256 protocolFee) = _split(terms.price);
            _credit(payee, token, operatorPayment);
            _credit(_treasury, token, protocolFee);
            _credit(request.requester, token, unusedFee);
            request.commitment = keccak256(settlement.output);
            emit RequestFinalized(requestId, payee, settlement.output, operatorPayment, protocolFee);
        } else {
            _credit(request.requester, token, terms.price + unusedFee);
            request.commitment = bytes32(0);
            emit RequestRejected(requestId, operator, settlement.operatorSlash);
        }

        bytes32 lockId = operatorLockId(requestId, operator);
        if (settlement.operatorSlash > 0) {
            address beneficiary = settlement.slashBeneficiary;
            _vault.slash(lockId, settlement.operatorSlash, beneficiary == address(0) ? request.requester : beneficiary);
        }
        _vault.unlock(lockId);

        if (settlement.accepted && request.callbackGasLimit != 0) {
            _runCallback(requestId, request.callbackGasLimit, settlement.output);
        }
    }

    /// @inheritdoc IInferenceMarket
    /// @dev The module's check (a view of the verifier) comes first, then every effect, then the callback.
    function fulfill(
        uint256 requestId,
        bytes calldata output,
        bytes calldata proof
    ) external whenNotPaused nonReentrant {
        StoredRequest storage request = _requireRequest(requestId);
        Terms storage terms = _terms[request.termsId];
        _requireInstant(requestId, terms);
        bool claimed = _checkFulfillable(requestId, request, activeTime());
        if (!claimed) _requireServing(terms.modelId);
        // INVARIANT: an instant result is accepted only once its module has checked it for this request (its
        // input hash and the config it was created with) and the caller as the operator.
        IInstantVerificationModule(terms.module).onFulfill(
            _submission(requestId, request, terms, msg.sender),
            output,
            proof
        );
        Payout memory payout = _payout(terms);
        _markFulfilled(requestId, request, payout, output);
        _creditPayee(payout.token, payout.operatorPayment, payout.protocolFee);
        uint24 gasLimit = request.callbackGasLimit;
        if (gasLimit != 0) _runCallback(requestId, gasLimit, output);
    }

    /// @inheritdoc IInferenceMarket
    function fulfillBatch(uint256[] calldata requestIds, bytes calldata proof) external whenNotPaused nonReentrant {
        uint256 n = requestIds.length;
        if (n == 0) revert InferenceMarketEmptyBatch();
        uint32 firstTermsId = _requireRequest(requestIds[0]).termsId;
        Terms storage first = _terms[firstTermsId];
        _requireInstant(requestIds[0], first);
        bytes32[] memory inputHashes = _checkBatch(requestIds, firstTermsId);
        bytes[] memory outputs = IInstantVerificationModule(first.module).onFulfillBatch(
            IInstantVerificationModule.BatchSubmission({
                modelId: first.modelId,
                operator: msg.sender,
                config: first.config,
                requestIds: requestIds,
                inputHashes: inputHashes
            }),
            proof
        );
        if (outputs.length != n) revert InferenceMarketBatchOutputs(n, outputs.length);
        _settleBatch(requestIds, outputs);
        for (uint256 i = 0; i < n; ++i) {
            StoredRequest storage request = _requests[requestIds[i]];
            uint24 gasLimit = request.callbackGasLimit;
            if (gasLimit != 0) _runCallback(requestIds[i], gasLimit, outputs[i]);
        }
    }

    // ---------------------------------------------------------------- governance

    /// @notice Governance: protocol fee in basis points of the price (at most 20%).
    function setProtocolFee(uint16 bps) external onlyOwner {
        _setProtocolFee(bps);
    }

    /// @notice Governance: where protocol fees are credited.
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @notice Governance: how long a claiming operator has to submit (1 minute to 30 days).
    function setClaimWindow(uint64 window) external onlyOwner {
        _setClaimWindow(window);
    }

    /// @notice Governance: share of the operator's lock slashed when it misses its claim window.
    function setNoShowSlash(uint16 bps) external onlyOwner {
        _setNoShowSlash(bps);
    }

    /// @notice Governance: the highest callback gas limit a request may ask for.
    function setMaxCallbackGas(uint32 gasLimit) external onlyOwner {
        _setMaxCallbackGas(gasLimit);
    }

    /// @notice Governance: allows or stops an ERC-20 as payment (ETH is always allowed).
    function setTokenAllowed(address token, bool allowed) external onlyOwner {
        if (token == address(0)) revert InferenceMarketZeroAddress();
        _allowedTokens[token] = allowed;
        emit TokenAllowed(token, allowed);
    }

    /// @notice Stops new requests, claims and submissions, and stops the active clock: no deadline passes and
    /// no chess clock runs while paused, so nobody can be slashed for the pause. Withdrawals go on.
    function pause() external onlyOwner {
        _pauseClock.since = uint64(block.timestamp);
        _pause();
    }

    /// @notice Governance: lifts the pause; every active-time deadline moves later by the paused time.
    function unpause() external onlyOwner {
        uint64 duration = uint64(block.timestamp) - _pauseClock.since;
        uint64 total = _pauseClock.total + duration;
        _pauseClock = PauseClock({total: total, since: 0});
        _unpause();
        emit PauseEnded(duration, total);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IInferenceMarket
    function termsHashOf(uint256 modelId, uint8 mode) external view returns (bytes32) {
        (, uint256 operatorStake) = _registry.requireServable(modelId, mode);
        return keccak256(abi.encode(operatorStake, _registry.modeConfig(modelId, mode)));
    }

    /// @inheritdoc IInferenceMarket
    function quote(uint256 modelId, uint8 mode, address token) external view returns (uint256 price, uint256 fee) {
        (IVerificationModule module, ) = _registry.requireServable(modelId, mode);
        return _quote(modelId, token, module, _registry.modeConfig(modelId, mode));
    }

    /// @inheritdoc IInferenceMarket
    function getRequest(uint256 requestId) external view returns (Request memory r) {
        StoredRequest storage s = _requireRequest(requestId);
        Terms storage t = _terms[s.termsId];
        r.requester = s.requester;
        r.deadline = s.deadline;
        r.mode = t.mode;
        r.status = s.status;
        r.operator = s.operator;
        r.claimDeadline = s.claimDeadline;
        r.token = t.token;
        r.callback = _callbacks[requestId];
        r.callbackGasLimit = s.callbackGasLimit;
        r.module = t.module;
        r.modelId = t.modelId;
        r.price = t.price;
        r.verificationFee = t.verificationFee;
        r.operatorStake = t.operatorStake;
        r.inputHash = r.status == Status.Finalized ? bytes32(0) : s.commitment;
    }

    /// @inheritdoc IActiveClock
    function activeTime() public view returns (uint64) {
        return (paused() ? _pauseClock.since : uint64(block.timestamp)) - _pauseClock.total;
    }

    /// @inheritdoc IInferenceMarket
    function pausedTotal() external view returns (uint64) {
        return _pauseClock.total;
    }

    /// @inheritdoc IInferenceMarket
    function modeConfigOf(uint256 requestId) external view returns (bytes memory) {
        return _terms[_requireRequest(requestId).termsId].config;
    }

    /// @inheritdoc IInferenceMarket
    function resultHashOf(uint256 requestId) external view returns (bytes32) {
        StoredRequest storage s = _requests[requestId];
        return s.status == Status.Finalized ? s.commitment : bytes32(0);
    }

    /// @inheritdoc IInferenceMarket
    function owed(address account, address token) external view returns (uint256) {
        return _owed[account][token];
    }

    /// @inheritdoc IInferenceMarket
    function liabilities(address token) external view returns (uint256) {
        return _liabilities[token];
    }

    /// @inheritdoc IInferenceMarket
    function operatorLockId(uint256 requestId, address operator) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), requestId, operator));
    }

    /// @inheritdoc IInferenceMarket
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }

    /// @inheritdoc IInferenceMarket
    function registry() external view returns (IModelRegistry) {
        return _registry;
    }

    /// @inheritdoc IInferenceMarket
    function vault() external view returns (IStakingVault) {
        return _vault;
    }

    /// @notice Whether `token` is accepted as payment.
    function isTokenAllowed(address token) external view returns (bool) {
        return token == address(0) || _allowedTokens[token];
    }

    /// @notice Where protocol fees are credited.
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @notice Protocol fee in basis points of the price.
    function protocolFeeBps() external view returns (uint16) {
        return _protocolFeeBps;
    }

    /// @notice Share of the lock slashed on a no-show, in basis points.
    function noShowSlashBps() external view returns (uint16) {
        return _noShowSlashBps;
    }

    /// @notice Seconds a claiming operator has to submit.
    function claimWindow() external view returns (uint64) {
        return _claimWindow;
    }

    /// @notice Highest callback gas limit a request may ask for.
    function maxCallbackGas() external view returns (uint32) {
        return _maxCallbackGas;
    }

    // ---------------------------------------------------------------- internals

    function _quote(
        uint256 modelId,
        address token,
        IVerificationModule module,
        bytes memory config
    ) private view returns (uint256 price, uint256 fee) {
        if (token != address(0) && !_allowedTokens[token]) revert InferenceMarketUnsupportedToken(modelId, token);
        price = _registry.priceOf(modelId, token);
        if (price == 0) revert InferenceMarketUnsupportedToken(modelId, token);
        fee = module.verificationFee(config, price);
    }

    function _emitCreated(
        uint256 requestId,
        RequestParams calldata params,
        uint256 price,
        uint256 fee,
        uint64 deadline
    ) private {
        emit RequestCreated(
            requestId,
            params.modelId,
            msg.sender,
            params.mode,
            params.token,
            price,
            fee,
            deadline,
            _requests[requestId].commitment,
            params.input,
            params.inputURI
        );
    }

    /// @dev The id of the terms a new request is judged and paid under, recording them the first time.
    function _termsIdFor(
        RequestParams calldata params,
        IVerificationModule module,
        uint256 operatorStake,
        uint256 price,
        uint256 fee,
        bytes memory config
    ) private returns (uint32 termsId) {
        bytes32 configHash = keccak256(config);
        bytes32 key = keccak256(
            abi.encode(module, params.modelId, params.mode, params.token, price, fee, operatorStake, configHash)
        );
        termsId = _termsIds[key];
        if (termsId != 0) return termsId;
        // Stored as a uint24 in the request's word 0.
        termsId = SafeCast.toUint24(++_termsCount);
        _termsIds[key] = termsId;
        bool instant = ERC165Checker.supportsInterface(address(module), type(IInstantVerificationModule).interfaceId);
        _terms[termsId] = Terms({
            module: address(module),
            mode: params.mode,
            instant: instant,
            modelId: SafeCast.toUint80(params.modelId),
            token: params.token,
            price: SafeCast.toUint128(price),
            verificationFee: SafeCast.toUint128(fee),
            operatorStake: operatorStake,
            configHash: configHash,
            config: config
        });
        emit TermsRecorded(termsId, params.modelId, params.mode, params.token, address(module), instant, configHash);
    }

    /// @dev The operator's payment and the protocol fee out of a price.
    function _split(uint256 price) private view returns (uint256 operatorPayment, uint256 protocolFee) {
        protocolFee = (price * _protocolFeeBps) / _BPS;
        operatorPayment = price - protocolFee;
    }

    function _requireInstant(uint256 requestId, Terms storage terms) private view {
        // INVARIANT: only a module whose verdict is final on submission settles in the submitting transaction.
        if (!terms.instant) revert InferenceMarketNotInstant(requestId, terms.module);
    }

    /// @dev The request as its module is shown it, submitted by `operator`.
    function _submission(
        uint256 requestId,
        StoredRequest storage request,
        Terms storage terms,
        address operator
    ) private view returns (IVerificationModule.Submission memory) {
        return
            IVerificationModule.Submission({
                requestId: requestId,
                modelId: terms.modelId,
                operator: operator,
                inputHash: request.commitment,
                config: terms.config
            });
    }

    /// @dev Reverts unless the caller may fulfill the request now (`nowActive`); returns whether it holds the
    /// request's claim. The caller checks that the request's terms are instant.
    function _checkFulfillable(
        uint256 requestId,
        StoredRequest storage request,
        uint64 nowActive
    ) private view returns (bool claimed) {
        Status status = request.status;
        if (status == Status.Open) {
            if (nowActive > request.deadline) revert InferenceMarketDeadline(requestId, request.deadline, nowActive);
            return false;
        }
        // INVARIANT: a claim stays exclusive: only the claimant fulfills a claimed request, inside its window.
        if (status != Status.Claimed) revert InferenceMarketWrongStatus(requestId, status);
        if (msg.sender != request.operator)
            revert InferenceMarketWrongOperator(requestId, msg.sender, request.operator);
        if (nowActive > request.claimDeadline) {
            revert InferenceMarketClaimWindow(requestId, request.claimDeadline, nowActive);
        }
        return true;
    }

    /// @dev Reverts unless every request of a batch may be fulfilled now by the caller under the same judge as
    /// the first (whose terms the caller checked), and that the caller serves the model if any is open; returns
    /// their input hashes.
    function _checkBatch(
        uint256[] calldata requestIds,
        uint32 firstTermsId
    ) private view returns (bytes32[] memory inputHashes) {
        uint256 n = requestIds.length;
        Terms storage first = _terms[firstTermsId];
        uint64 nowActive = activeTime();
        inputHashes = new bytes32[](n);
        bool anyOpen = false;
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = requestIds[i];
            // INVARIANT: a batch settles each request at most once: ids strictly ascend, so none repeats.
            if (i > 0 && id <= requestIds[i - 1]) revert InferenceMarketBatchOrder(i, requestIds[i - 1], id);
            StoredRequest storage request = _requireRequest(id);
            uint32 termsId = request.termsId;
            if (termsId != firstTermsId) {
                Terms storage terms = _terms[termsId];
                // INVARIANT: one proof judges only requests of one module, model, mode and mode config.
                if (!_sameJudge(terms, first)) revert InferenceMarketBatchMismatch(id, requestIds[0]);
                _requireInstant(id, terms);
            }
            if (!_checkFulfillable(id, request, nowActive)) anyOpen = true;
            inputHashes[i] = request.commitment;
        }
        if (anyOpen) _requireServing(first.modelId);
    }

    /// @dev Ends an accepted instant request: every effect but the payee's and treasury's credits, which the
    /// caller makes (one per batch and token). The request's word 0 (status, operator) and its commitment
    /// (input hash -> result hash) are the only slots written.
    function _markFulfilled(
        uint256 requestId,
        StoredRequest storage request,
        Payout memory payout,
        bytes memory output
    ) private {
        // Still as checked (every entry point that moves a status is nonReentrant): a claimed request's claimant
        // is the caller (_checkFulfillable), whose lock is released.
        bool claimed = request.status == Status.Claimed;
        request.status = Status.Finalized;
        request.operator = msg.sender;
        request.commitment = keccak256(output);
        // An instant module pays no rewards: its whole fee goes back to the requester.
        if (payout.verificationFee != 0) _credit(request.requester, payout.token, payout.verificationFee);
        emit RequestFinalized(requestId, msg.sender, output, payout.operatorPayment, payout.protocolFee);
        if (claimed) _vault.unlock(operatorLockId(requestId, msg.sender));
    }

    /// @dev What an accepted instant request under `terms` pays.
    function _payout(Terms storage terms) private view returns (Payout memory payout) {
        payout.token = terms.token;
        payout.verificationFee = terms.verificationFee;
        (payout.operatorPayment, payout.protocolFee) = _split(terms.price);
    }

    /// @dev Settles every request of a verified batch. Terms are read (and the price split) once per change of
    /// terms id; the caller and treasury are credited once per run of one token.
    function _settleBatch(uint256[] calldata requestIds, bytes[] memory outputs) private {
        // Terms ids start at 1: the first request loads its terms (there is nothing to credit yet).
        uint32 termsId = 0;
        Payout memory payout;
        uint256 pay;
        uint256 fees;
        for (uint256 i = 0; i < requestIds.length; ++i) {
            StoredRequest storage request = _requests[requestIds[i]];
            if (request.termsId != termsId) {
                termsId = request.termsId;
                Terms storage terms = _terms[termsId];
                if (terms.token != payout.token) {
                    _creditPayee(payout.token, pay, fees);
                    pay = 0;
                    fees = 0;
                }
                payout = _payout(terms);
            }
            _markFulfilled(requestIds[i], request, payout, outputs[i]);
            // Cannot overflow: each term is part of a price the market holds in escrow.
            unchecked {
                pay += payout.operatorPayment;
                fees += payout.protocolFee;
            }
        }
        _creditPayee(payout.token, pay, fees);
    }

    /// @dev Credits the caller (the fulfilling operator) and the treasury what accepted results paid.
    function _creditPayee(address token, uint256 pay, uint256 fees) private {
        _credit(msg.sender, token, pay);
        _credit(_treasury, token, fees);
    }

    /// @dev Whether two terms have the same judge: module, model, mode and mode config.
    function _sameJudge(Terms storage a, Terms storage b) private view returns (bool) {
        return a.module == b.module && a.modelId == b.modelId && a.mode == b.mode && a.configHash == b.configHash;
    }

    function _requireServing(uint256 modelId) private view {
        if (!_vault.isServing(msg.sender, modelId, IStakingVault.Role.Operator)) {
            revert InferenceMarketNotServing(modelId, msg.sender);
        }
    }

    /// @dev Sum of the rewards a settlement pays. A reward to the zero address could never be withdrawn:
    /// it is not paid and stays with the unused fee.
    function _rewardsTotal(IVerificationModule.Reward[] memory rewards) private pure returns (uint256 total) {
        for (uint256 i = 0; i < rewards.length; ++i) {
            if (rewards[i].to != address(0)) total += rewards[i].amount;
        }
    }

    function _collectPayment(address token, uint256 maxFee, uint256 required) private {
        if (token == address(0)) {
            if (msg.value != maxFee) revert InferenceMarketWrongValue(msg.value, maxFee);
            // What was sent above the quote is the requester's to withdraw (it is already a liability).
            if (maxFee > required) {
                _liabilities[address(0)] += maxFee - required;
                _credit(msg.sender, address(0), maxFee - required);
            }
            return;
        }
        if (msg.value != 0) revert InferenceMarketWrongValue(msg.value, 0);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), required);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != required) revert InferenceMarketTransferMismatch(required, received);
    }

    /// @dev Moves an amount from escrow to `account`'s withdrawable balance; liabilities are unchanged.
    function _credit(address account, address token, uint256 amount) private {
        if (amount == 0) return;
        _owed[account][token] += amount;
        emit PaymentCredited(account, token, amount);
    }

    function _penaliseNoShow(
        uint256 requestId,
        uint256 operatorStake,
        address requester,
        address operator
    ) private returns (uint256) {
        bytes32 lockId = operatorLockId(requestId, operator);
        uint256 slashed = (operatorStake * _noShowSlashBps) / _BPS;
        if (slashed > 0) _vault.slash(lockId, slashed, requester);
        _vault.unlock(lockId);
        return slashed;
    }

    function _runCallback(uint256 requestId, uint24 gasLimit, bytes memory output) private {
        address callback = _callbacks[requestId];
        // EIP-150 forwards at most 63/64 of what is left, so demand enough that the consumer really gets
        // its limit; otherwise a finalizer could starve the callback on purpose.
        // Encode first: memory expansion for a large output must not eat into the callback's gas.
        bytes memory data = abi.encodeCall(IAIOracleConsumer.onInferenceResult, (requestId, output));
        uint256 needed = (uint256(gasLimit) * 64) / 63 + _CALLBACK_OVERHEAD;
        if (gasleft() < needed) revert InferenceMarketInsufficientGas(gasleft(), needed);
        bool success;
        // A raw call copies no return data, so a consumer cannot grief settlement with a huge revert reason.
        assembly ("memory-safe") {
            success := call(gasLimit, callback, 0, add(data, 0x20), mload(data), 0, 0)
        }
        emit CallbackExecuted(requestId, callback, success);
    }

    function _checkCallback(address callback, uint32 gasLimit) private view {
        bool bad =
            callback == address(0)
                ? gasLimit != 0
                : gasLimit == 0 || gasLimit > _maxCallbackGas || callback.code.length == 0;
        if (bad) revert InferenceMarketBadCallback(callback, gasLimit, _maxCallbackGas);
    }

    function _inputHash(RequestParams calldata params) private pure returns (bytes32) {
        if (params.input.length == 0) {
            if (params.inputHash == bytes32(0)) revert InferenceMarketBadInput(bytes32(0), bytes32(0));
            return params.inputHash;
        }
        bytes32 computed = keccak256(params.input);
        if (params.inputHash != bytes32(0) && params.inputHash != computed) {
            revert InferenceMarketBadInput(params.inputHash, computed);
        }
        return computed;
    }

    function _requireRequest(uint256 requestId) private view returns (StoredRequest storage request) {
        request = _requests[requestId];
        if (request.status == Status.None) revert InferenceMarketUnknownRequest(requestId);
    }

    function _setProtocolFee(uint16 bps) private {
        if (bps > _MAX_PROTOCOL_FEE_BPS) revert InferenceMarketInvalidParameter("protocolFeeBps", bps);
        _protocolFeeBps = bps;
        emit ProtocolFeeSet(bps);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert InferenceMarketZeroAddress();
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _setClaimWindow(uint64 window) private {
        if (window < _MIN_CLAIM_WINDOW || window > _MAX_CLAIM_WINDOW) {
            revert InferenceMarketInvalidParameter("claimWindow", window);
        }
        _claimWindow = window;
        emit ClaimWindowSet(window);
    }

    function _setNoShowSlash(uint16 bps) private {
        if (bps > _BPS) revert InferenceMarketInvalidParameter("noShowSlashBps", bps);
        _noShowSlashBps = bps;
        emit NoShowSlashSet(bps);
    }

    function _setMaxCallbackGas(uint32 gasLimit) private {
        if (gasLimit > _MAX_CALLBACK_GAS_CAP) revert InferenceMarketInvalidParameter("maxCallbackGas", gasLimit);
        _maxCallbackGas = gasLimit;
        emit MaxCallbackGasSet(gasLimit);
    }
}
