// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {console} from "hardhat/console.sol";
import {TestBase} from "./utils/Test.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";
import {ModelRegistry} from "../../contracts/ModelRegistry.sol";
import {StakingVault} from "../../contracts/StakingVault.sol";
import {InferenceMarket} from "../../contracts/InferenceMarket.sol";
import {MockVerificationModule} from "../../contracts/mocks/MockVerificationModule.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {IStakingVault} from "../../contracts/interfaces/IStakingVault.sol";
import {IVerificationModule} from "../../contracts/interfaces/IVerificationModule.sol";

/// @title MarketHandler
/// @notice The only contract the invariant fuzzer calls. Each action takes random seeds, turns them into
/// a plausible step of the marketplace (picking a request in the right status where one exists) and
/// records what happened in ghost variables that the invariants check against the contracts.
/// Actions never revert on their own: market calls that may legitimately fail are wrapped in try/catch,
/// so every counter below reflects a call that really happened.
contract MarketHandler is TestBase {
    InferenceMarket public immutable market;
    StakingVault public immutable vault;
    MockVerificationModule public immutable module;
    ModelRegistry public immutable registry;
    MockERC20 public immutable token;
    uint256 public immutable modelId;
    /// @dev Owner of the market and the model (the test contract); pranked for governance actions.
    address public immutable owner;
    uint8 internal constant MODE = 0;

    address[] internal _requesters;
    address[] internal _operators;
    /// @dev Every account the market may credit or the vault may pay slash proceeds to.
    address[] internal _accounts;

    // ------------------------------------------------------------------ ghosts: requests

    mapping(uint256 requestId => uint256) public ghostEscrow;
    mapping(uint256 requestId => uint256) public ghostCredited;
    mapping(uint256 requestId => uint256) public ghostSettlements;
    mapping(uint256 requestId => bool) public ghostOutOfBoundsVerdict;
    /// @dev Set when something happened that must never happen (checked by an invariant).
    bool public ghostOutOfBoundsVerdictSettled;
    bool public ghostWithdrawMismatch;
    bool public ghostSettlementCreditMismatch;

    // ------------------------------------------------------------------ ghosts: locks

    /// @notice One claim = one lock instance (a request re-claimed after a no-show reuses the lock id).
    struct LockGhost {
        address operator;
        uint256 requestId;
        uint256 amount;
        uint256 slashed;
        bool open;
    }

    LockGhost[] internal _locks;
    mapping(uint256 requestId => uint256) internal _openLockIndex; // index + 1
    uint256 public ghostTotalSlashed;
    uint256 public ghostSlashProceedsWithdrawn;

    // ------------------------------------------------------------------ call counters

    uint256 public callsCreateEth;
    uint256 public callsCreateToken;
    uint256 public callsClaim;
    uint256 public callsSubmit;
    uint256 public callsSubmitRefused;
    uint256 public callsVerdict;
    uint256 public callsVerdictOutOfBounds;
    uint256 public callsFinalizeAccepted;
    uint256 public callsFinalizeRejected;
    uint256 public callsFinalizeFailed;
    uint256 public callsReopen;
    uint256 public callsRefund;
    uint256 public callsRefundFailed;
    uint256 public callsSlashes;
    uint256 public callsWithdraw;
    uint256 public callsStake;
    uint256 public callsUnbond;
    uint256 public callsWithdrawStake;
    uint256 public callsWithdrawProceeds;
    uint256 public callsWarp;
    uint256 public callsSetTerms;
    uint256 public callsFulfill;
    uint256 public callsFulfillClaimed;
    uint256 public callsFulfillRefused;
    uint256 public callsFulfillBatch;
    uint256 public callsFulfillBatchRefused;

    constructor(
        InferenceMarket market_,
        MockVerificationModule module_,
        MockERC20 token_,
        uint256 modelId_,
        address owner_,
        address[] memory requesters_,
        address[] memory operators_,
        address[] memory accounts_
    ) {
        market = market_;
        vault = StakingVault(address(market_.vault()));
        registry = ModelRegistry(address(market_.registry()));
        module = module_;
        token = token_;
        modelId = modelId_;
        owner = owner_;
        _requesters = requesters_;
        _operators = operators_;
        _accounts = accounts_;
    }

    // ================================================================== requester actions

    function createEthRequest(uint256 actorSeed, uint256 extra, uint256 ttl) external {
        address requester = _requesters[actorSeed % _requesters.length];
        (uint256 price, uint256 fee) = market.quote(modelId, MODE, address(0));
        extra = bound(extra, 0, 1 ether);
        uint256 maxFee = price + fee + extra;
        vm.deal(requester, requester.balance + maxFee);
        vm.prank(requester);
        uint256 id = market.createRequest{value: maxFee}(_params(address(0), maxFee, ttl));
        ghostEscrow[id] = price + fee;
        ++callsCreateEth;
    }

    function createTokenRequest(uint256 actorSeed, uint256 extra, uint256 ttl) external {
        address requester = _requesters[actorSeed % _requesters.length];
        (uint256 price, uint256 fee) = market.quote(modelId, MODE, address(token));
        extra = bound(extra, 0, 100e18);
        uint256 maxFee = price + fee + extra;
        token.mint(requester, price + fee);
        vm.prank(requester);
        token.approve(address(market), price + fee);
        vm.prank(requester);
        uint256 id = market.createRequest(_params(address(token), maxFee, ttl));
        ghostEscrow[id] = price + fee;
        ++callsCreateToken;
    }

    /// @notice Refund an unanswered request. Usually picks an Open/Claimed one and jumps past its
    /// deadline; sometimes picks any request at all, so refunding settled requests is attempted too.
    function refund(uint256 requestSeed, uint256 mode) external {
        uint256 id;
        if (mode % 4 == 0) {
            id = _anyRequest(requestSeed);
        } else {
            // Prefer a request already past its deadline; otherwise, sometimes, wait for one.
            id = _findRequest(requestSeed, IInferenceMarket.Status.Open, _EXPIRED);
            if (id == 0) id = _findRequest(requestSeed, IInferenceMarket.Status.Claimed, _EXPIRED);
            if (id == 0) id = _findRequest(requestSeed, IInferenceMarket.Status.Open, _ANY);
            if (id == 0) id = _findRequest(requestSeed, IInferenceMarket.Status.Claimed, _ANY);
        }
        if (id == 0) return;
        IInferenceMarket.Request memory request = market.getRequest(id);
        if (block.timestamp <= request.deadline && mode % 8 == 1) vm.warp(uint256(request.deadline) + 1);
        uint256 owedBefore = _owedSum(request.token);
        uint256 stakeBefore = _stakeTotal(request.operator);
        try market.refund(id) {
            _recordSettlement(id, request.token, owedBefore);
            if (request.status == IInferenceMarket.Status.Claimed) {
                _recordSlashAndClose(id, request.operator, stakeBefore);
            }
            ++callsRefund;
        } catch {
            ++callsRefundFailed;
        }
    }

    function withdraw(uint256 accountSeed, bool inToken) external {
        address account = _accounts[accountSeed % _accounts.length];
        address payToken = inToken ? address(token) : address(0);
        uint256 due = market.owed(account, payToken);
        if (due == 0) return;
        uint256 before = _balanceOf(payToken, account);
        vm.prank(account);
        market.withdraw(payToken);
        if (_balanceOf(payToken, account) - before != due) ghostWithdrawMismatch = true;
        if (market.owed(account, payToken) != 0) ghostWithdrawMismatch = true;
        ++callsWithdraw;
    }

    // ================================================================== operator actions

    function claim(uint256 requestSeed, uint256 operatorSeed) external {
        uint256 id = _findRequest(requestSeed, IInferenceMarket.Status.Open, _LIVE);
        if (id == 0) return;
        IInferenceMarket.Request memory request = market.getRequest(id);
        address operator = _operators[operatorSeed % _operators.length];
        uint256 free = vault.freeStake(operator);
        if (free < request.operatorStake) _stake(operator, request.operatorStake - free);
        vm.prank(operator);
        market.claim(id);
        _locks.push(
            LockGhost({operator: operator, requestId: id, amount: request.operatorStake, slashed: 0, open: true})
        );
        _openLockIndex[id] = _locks.length;
        ++callsClaim;
    }

    /// @notice The assigned operator submits. The module sometimes refuses the submission, and
    /// sometimes auto-accepts it (final at once, paying the operator).
    function submit(uint256 requestSeed, uint256 moduleSeed) external {
        uint256 id = _findRequest(requestSeed, IInferenceMarket.Status.Claimed, _IN_CLAIM_WINDOW);
        if (id == 0) return;
        IInferenceMarket.Request memory request = market.getRequest(id);
        bool refuse = moduleSeed % 8 == 0;
        module.setRejectSubmissions(refuse);
        module.setAutoAccept(moduleSeed % 2 == 0);
        vm.prank(request.operator);
        try market.submitResult(id, abi.encodePacked(moduleSeed), "") {
            ++callsSubmit;
        } catch {
            ++callsSubmitRefused;
        }
        module.setRejectSubmissions(false);
    }

    /// @notice Anyone reopens a claimed request whose operator missed the claim window (time is moved
    /// past the window when needed).
    function reopen(uint256 requestSeed, bool waitIfNeeded) external {
        uint256 id = _findRequest(requestSeed, IInferenceMarket.Status.Claimed, _CLAIM_WINDOW_OVER);
        if (id == 0 && waitIfNeeded) id = _findRequest(requestSeed, IInferenceMarket.Status.Claimed, _ANY);
        if (id == 0) return;
        IInferenceMarket.Request memory request = market.getRequest(id);
        if (block.timestamp <= request.claimDeadline) vm.warp(uint256(request.claimDeadline) + 1);
        uint256 stakeBefore = _stakeTotal(request.operator);
        market.reopen(id);
        _recordSlashAndClose(id, request.operator, stakeBefore);
        ++callsReopen;
    }

    function stake(uint256 operatorSeed, uint256 amount) external {
        _stake(_operators[operatorSeed % _operators.length], bound(amount, 1, 20 ether));
        ++callsStake;
    }

    function requestUnbond(uint256 operatorSeed, uint256 amount) external {
        address operator = _operators[operatorSeed % _operators.length];
        uint256 free = vault.freeStake(operator);
        if (free == 0) return;
        vm.prank(operator);
        vault.requestUnbond(bound(amount, 1, free));
        ++callsUnbond;
    }

    function withdrawStake(uint256 operatorSeed, bool waitIfNeeded) external {
        address operator = _operators[operatorSeed % _operators.length];
        IStakingVault.StakeInfo memory info = vault.stakeOf(operator);
        if (info.unbonding == 0) return;
        if (block.timestamp < info.unbondingReadyAt) {
            if (!waitIfNeeded) return;
            vm.warp(info.unbondingReadyAt);
        }
        uint256 before = operator.balance;
        vm.prank(operator);
        vault.withdraw();
        if (operator.balance - before != info.unbonding) ghostWithdrawMismatch = true;
        ++callsWithdrawStake;
    }

    function withdrawSlashProceeds(uint256 accountSeed) external {
        address account = _accounts[accountSeed % _accounts.length];
        uint256 due = vault.slashProceedsOf(account);
        if (due == 0) return;
        uint256 before = account.balance;
        vm.prank(account);
        vault.withdrawSlashProceeds();
        if (account.balance - before != due) ghostWithdrawMismatch = true;
        ghostSlashProceedsWithdrawn += due;
        ++callsWithdrawProceeds;
    }

    /// @notice An operator answers and settles a request in one transaction (the mock module is instant).
    /// Usually an open live request (any serving operator) or a claimed one (its claimant); sometimes any
    /// request at all, so fulfilling settled, expired and foreign-claimed requests is attempted too; one time
    /// in eight the module refuses the result.
    function fulfill(uint256 requestSeed, uint256 operatorSeed, uint256 modeSeed) external {
        uint256 id = _findRequest(requestSeed, IInferenceMarket.Status.Open, _LIVE);
        if (modeSeed % 3 == 0) {
            uint256 claimed = _findRequest(requestSeed, IInferenceMarket.Status.Claimed, _IN_CLAIM_WINDOW);
            if (claimed != 0) id = claimed;
        }
        if (id == 0 || modeSeed % 7 == 0) id = _anyRequest(requestSeed);
        if (id == 0) return;
        IInferenceMarket.Request memory request = market.getRequest(id);
        address operator =
            request.status == IInferenceMarket.Status.Claimed && modeSeed % 5 != 0
                ? request.operator
                : _operators[operatorSeed % _operators.length];
        module.setRejectSubmissions(modeSeed % 8 == 1);
        uint256 owedBefore = _owedSum(request.token);
        uint256 stakeBefore = _stakeTotal(request.operator);
        vm.prank(operator);
        try market.fulfill(id, abi.encodePacked(modeSeed), "") {
            _recordSettlement(id, request.token, owedBefore);
            if (request.status == IInferenceMarket.Status.Claimed) {
                _recordSlashAndClose(id, request.operator, stakeBefore);
                ++callsFulfillClaimed;
            }
            ++callsFulfill;
        } catch {
            ++callsFulfillRefused;
        }
        module.setRejectSubmissions(false);
    }

    /// @notice An operator settles up to four open requests with one proof, in ascending id order (mixing
    /// ETH and token requests); sometimes an id is repeated, or the module refuses.
    function fulfillBatch(uint256 requestSeed, uint256 operatorSeed, uint256 sizeSeed) external {
        uint256 count = market.requestCount();
        if (count == 0) return;
        uint256[] memory picked = new uint256[](1 + (sizeSeed % 4));
        uint256 n = 0;
        for (uint256 id = 1 + (requestSeed % count); id <= count && n < picked.length; ++id) {
            IInferenceMarket.Request memory r = market.getRequest(id);
            if (r.status == IInferenceMarket.Status.Open && block.timestamp <= r.deadline) picked[n++] = id;
        }
        if (n == 0) return;
        uint256[] memory ids = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) ids[i] = picked[i];
        if (n > 1 && sizeSeed % 16 == 5) ids[1] = ids[0];
        module.setRejectSubmissions(sizeSeed % 8 == 1);
        uint256 ethBefore = _owedSum(address(0));
        uint256 tokenBefore = _owedSum(address(token));
        vm.prank(_operators[operatorSeed % _operators.length]);
        try market.fulfillBatch(ids, "") {
            uint256 ethEscrow;
            uint256 tokenEscrow;
            for (uint256 i = 0; i < n; ++i) {
                if (market.getRequest(ids[i]).token == address(0)) ethEscrow += ghostEscrow[ids[i]];
                else tokenEscrow += ghostEscrow[ids[i]];
                ghostCredited[ids[i]] += ghostEscrow[ids[i]];
                ++ghostSettlements[ids[i]];
            }
            if (_owedSum(address(0)) - ethBefore != ethEscrow) ghostSettlementCreditMismatch = true;
            if (_owedSum(address(token)) - tokenBefore != tokenEscrow) ghostSettlementCreditMismatch = true;
            ++callsFulfillBatch;
        } catch {
            ++callsFulfillBatchRefused;
        }
        module.setRejectSubmissions(false);
    }

    // ================================================================== verification and settlement

    /// @notice Scripts a final verdict for a submitted request: accepted or rejected, a slash within the
    /// operator's lock and rewards within the verification fee. One time in eight the verdict is out of
    /// bounds (slash above the lock or rewards above the fee), which the market must refuse to settle.
    function scriptVerdict(uint256 requestSeed, uint256 slashSeed, uint256 rewardSeed, uint256 shapeSeed) external {
        uint256 id = _findRequest(requestSeed, IInferenceMarket.Status.Submitted, _ANY);
        if (id != 0) _scriptVerdict(id, slashSeed, rewardSeed, shapeSeed);
    }

    /// @notice Scripts a verdict for a submitted request and finalizes it in the same step (the common
    /// path, so that random sequences reach settlement often).
    function scriptVerdictAndFinalize(
        uint256 requestSeed,
        uint256 slashSeed,
        uint256 rewardSeed,
        uint256 shapeSeed
    ) external {
        uint256 id = _findRequest(requestSeed, IInferenceMarket.Status.Submitted, _ANY);
        if (id == 0) return;
        _scriptVerdict(id, slashSeed, rewardSeed, shapeSeed);
        _finalize(id);
    }

    /// @notice Anyone finalizes. Usually a submitted request; sometimes any request (settled or not), so
    /// finalizing twice and finalizing the unfinished is attempted too.
    function finalize(uint256 requestSeed, uint256 mode) external {
        uint256 id =
            mode % 4 == 0
                ? _anyRequest(requestSeed)
                : _findRequest(requestSeed, IInferenceMarket.Status.Submitted, _ANY);
        if (id != 0) _finalize(id);
    }

    function _scriptVerdict(uint256 id, uint256 slashSeed, uint256 rewardSeed, uint256 shapeSeed) internal {
        (IVerificationModule.Settlement memory verdict, bool outOfBounds) = _verdict(
            market.getRequest(id),
            slashSeed,
            rewardSeed,
            shapeSeed
        );
        verdict.output = abi.encodePacked(id);
        module.setVerdict(id, verdict);
        ghostOutOfBoundsVerdict[id] = outOfBounds;
        ++callsVerdict;
        if (outOfBounds) ++callsVerdictOutOfBounds;
    }

    function _verdict(
        IInferenceMarket.Request memory request,
        uint256 slashSeed,
        uint256 rewardSeed,
        uint256 shapeSeed
    ) internal view returns (IVerificationModule.Settlement memory verdict, bool outOfBounds) {
        uint256 fee = request.verificationFee;
        uint256 slash = bound(slashSeed, 0, request.operatorStake);
        uint256 rewardA = bound(rewardSeed, 0, fee);
        uint256 rewardB = bound(uint256(keccak256(abi.encode(rewardSeed))), 0, fee - rewardA);
        outOfBounds = shapeSeed % 8 == 0;
        if (outOfBounds) {
            if ((shapeSeed >> 8) % 2 == 0) slash = request.operatorStake + 1 + (slashSeed % 1 ether);
            else rewardB = fee - rewardA + 1 + (rewardSeed % 1 ether);
        }
        verdict.accepted = (shapeSeed >> 4) % 2 == 0;
        verdict.operatorSlash = slash;
        verdict.payee = (shapeSeed >> 32) % 4 == 0 ? _accounts[(shapeSeed >> 40) % _accounts.length] : request.operator;
        verdict.slashBeneficiary =
            (shapeSeed >> 48) % 2 == 0 ? address(0) : _accounts[(shapeSeed >> 56) % _accounts.length];
        verdict.rewards = new IVerificationModule.Reward[](2);
        verdict.rewards[0] = IVerificationModule.Reward({
            to: _accounts[(shapeSeed >> 16) % _accounts.length],
            amount: rewardA
        });
        verdict.rewards[1] = IVerificationModule.Reward({
            to: _accounts[(shapeSeed >> 24) % _accounts.length],
            amount: rewardB
        });
    }

    function _finalize(uint256 id) internal {
        IInferenceMarket.Request memory request = market.getRequest(id);
        uint256 owedBefore = _owedSum(request.token);
        uint256 stakeBefore = _stakeTotal(request.operator);
        try market.finalize(id) {
            if (ghostOutOfBoundsVerdict[id]) ghostOutOfBoundsVerdictSettled = true;
            _recordSettlement(id, request.token, owedBefore);
            _recordSlashAndClose(id, request.operator, stakeBefore);
            if (
                market.getRequest(id).status == IInferenceMarket.Status.Finalized &&
                market.resultHashOf(id) != bytes32(0)
            ) {
                ++callsFinalizeAccepted;
            } else {
                ++callsFinalizeRejected;
            }
        } catch {
            ++callsFinalizeFailed;
        }
    }

    // ================================================================== environment

    function warp(uint256 secondsForward) external {
        vm.warp(block.timestamp + bound(secondsForward, 0, 6 hours));
        ++callsWarp;
    }

    /// @notice Model owner and governance change the terms of future requests (open requests keep the
    /// price, fee and stake locked at creation).
    function setTerms(uint256 priceSeed, uint256 stakeSeed, uint256 feeSeed) external {
        vm.startPrank(owner);
        registry.setPrice(modelId, address(0), bound(priceSeed, 1, 5 ether));
        registry.setPrice(modelId, address(token), bound(priceSeed >> 128, 1, 500e18));
        registry.setOperatorStake(modelId, bound(stakeSeed, 0, 20 ether));
        market.setProtocolFee(uint16(bound(feeSeed, 0, 2_000)));
        market.setNoShowSlash(uint16(bound(feeSeed >> 16, 0, 10_000)));
        vm.stopPrank();
        module.setFeeBps(bound(feeSeed >> 32, 0, 20_000));
        ++callsSetTerms;
    }

    // ================================================================== views for the invariants

    function lockCount() external view returns (uint256) {
        return _locks.length;
    }

    function lockAt(uint256 index) external view returns (LockGhost memory) {
        return _locks[index];
    }

    function operators() external view returns (address[] memory) {
        return _operators;
    }

    function accounts() external view returns (address[] memory) {
        return _accounts;
    }

    function settledCount() external view returns (uint256) {
        return callsFinalizeAccepted + callsFinalizeRejected + callsRefund + callsFulfill + callsFulfillBatch;
    }

    function totalCalls() external view returns (uint256) {
        return
            callsCreateEth +
            callsCreateToken +
            callsClaim +
            callsSubmit +
            callsSubmitRefused +
            callsVerdict +
            callsFinalizeAccepted +
            callsFinalizeRejected +
            callsFinalizeFailed +
            callsReopen +
            callsRefund +
            callsRefundFailed +
            callsWithdraw +
            callsStake +
            callsUnbond +
            callsWithdrawStake +
            callsWithdrawProceeds +
            callsWarp +
            callsSetTerms +
            callsFulfill +
            callsFulfillRefused +
            callsFulfillBatch +
            callsFulfillBatchRefused;
    }

    // ================================================================== internals

    function _params(
        address payToken,
        uint256 maxFee,
        uint256 ttl
    ) internal view returns (IInferenceMarket.RequestParams memory) {
        return
            IInferenceMarket.RequestParams({
                modelId: modelId,
                mode: MODE,
                token: payToken,
                maxFee: maxFee,
                deadline: uint64(block.timestamp + bound(ttl, 10 minutes, 2 days)),
                input: abi.encodePacked(ttl),
                inputHash: bytes32(0),
                inputURI: "",
                callback: address(0),
                callbackGasLimit: 0,
                termsHash: bytes32(0)
            });
    }

    function _stake(address operator, uint256 amount) internal {
        vm.deal(operator, operator.balance + amount);
        vm.prank(operator);
        vault.stake{value: amount}(amount);
    }

    uint8 internal constant _ANY = 0;
    uint8 internal constant _LIVE = 1; // deadline not passed
    uint8 internal constant _EXPIRED = 2; // deadline passed
    uint8 internal constant _IN_CLAIM_WINDOW = 3;
    uint8 internal constant _CLAIM_WINDOW_OVER = 4;

    /// @dev The first request in `status` meeting the time condition `when`, scanning from a random id.
    function _findRequest(uint256 seed, IInferenceMarket.Status status, uint8 when) internal view returns (uint256) {
        uint256 count = market.requestCount();
        if (count == 0) return 0;
        uint256 start = seed % count;
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = 1 + ((start + k) % count);
            IInferenceMarket.Request memory request = market.getRequest(id);
            if (request.status != status) continue;
            if (when == _LIVE && block.timestamp > request.deadline) continue;
            if (when == _EXPIRED && block.timestamp <= request.deadline) continue;
            if (when == _IN_CLAIM_WINDOW && block.timestamp > request.claimDeadline) continue;
            if (when == _CLAIM_WINDOW_OVER && block.timestamp <= request.claimDeadline) continue;
            return id;
        }
        return 0;
    }

    function _anyRequest(uint256 seed) internal view returns (uint256) {
        uint256 count = market.requestCount();
        return count == 0 ? 0 : 1 + (seed % count);
    }

    function _owedSum(address payToken) internal view returns (uint256 sum) {
        for (uint256 i = 0; i < _accounts.length; ++i) sum += market.owed(_accounts[i], payToken);
    }

    function _stakeTotal(address staker) internal view returns (uint256) {
        return staker == address(0) ? 0 : vault.stakeOf(staker).total;
    }

    function _balanceOf(address payToken, address account) internal view returns (uint256) {
        return payToken == address(0) ? account.balance : token.balanceOf(account);
    }

    /// @dev A settlement (finalize or refund) succeeded: count it and record what it credited.
    function _recordSettlement(uint256 id, address payToken, uint256 owedBefore) internal {
        uint256 credited = _owedSum(payToken) - owedBefore;
        ghostCredited[id] += credited;
        ++ghostSettlements[id];
        if (credited != ghostEscrow[id]) ghostSettlementCreditMismatch = true;
    }

    /// @dev The request's open lock was slashed (possibly by zero) and released.
    function _recordSlashAndClose(uint256 id, address operator, uint256 stakeBefore) internal {
        uint256 index = _openLockIndex[id];
        if (index == 0) return; // no lock: nothing can have been slashed (checked by the invariants)
        LockGhost storage held = _locks[index - 1];
        uint256 slashed = stakeBefore - _stakeTotal(operator);
        held.slashed += slashed;
        held.open = false;
        ghostTotalSlashed += slashed;
        if (slashed > 0) ++callsSlashes;
        _openLockIndex[id] = 0;
    }
}

// Deployer libraries for the contracts of this file (see MarketFixture for why they exist and why they
// are declared here rather than in a shared helper).

library MarketInvariantsTestMarketDeployer {
    function deploy(
        address owner,
        IModelRegistry registry,
        IStakingVault vault,
        InferenceMarket.Parameters memory params
    ) public returns (InferenceMarket) {
        return new InferenceMarket(owner, registry, vault, params);
    }
}

library MarketInvariantsTestVaultDeployer {
    function deploy(
        address owner,
        address asset,
        address treasury,
        uint64 unbondingDelay,
        uint16 beneficiaryShareBps
    ) public returns (StakingVault) {
        return new StakingVault(owner, asset, treasury, unbondingDelay, beneficiaryShareBps, 1);
    }
}

library MarketInvariantsTestPeripheryDeployer {
    function registry(address owner) public returns (ModelRegistry) {
        return new ModelRegistry(owner);
    }

    function module(address market) public returns (MockVerificationModule) {
        return new MockVerificationModule(market);
    }

    function token() public returns (MockERC20) {
        return new MockERC20("Mock", "MOCK");
    }
}

/// @notice Implements MarketFixture's deployment hooks with this file's deployer libraries.
abstract contract MarketInvariantsTestFixture is MarketFixture {
    function _newRegistry(address owner) internal override returns (ModelRegistry) {
        return MarketInvariantsTestPeripheryDeployer.registry(owner);
    }

    function _newVault(
        address owner,
        address asset,
        address treasury,
        uint64 unbondingDelay,
        uint16 beneficiaryShareBps
    ) internal override returns (StakingVault) {
        return MarketInvariantsTestVaultDeployer.deploy(owner, asset, treasury, unbondingDelay, beneficiaryShareBps);
    }

    function _newMarket(
        address owner,
        IModelRegistry registry_,
        IStakingVault vault_,
        InferenceMarket.Parameters memory params
    ) internal override returns (InferenceMarket) {
        return MarketInvariantsTestMarketDeployer.deploy(owner, registry_, vault_, params);
    }

    function _newModule(address market_) internal override returns (MockVerificationModule) {
        return MarketInvariantsTestPeripheryDeployer.module(market_);
    }

    function _newToken() internal override returns (MockERC20) {
        return MarketInvariantsTestPeripheryDeployer.token();
    }
}

/// @notice Keeps the handler's creation code out of the test contract (see MarketFixture).
library HandlerDeployer {
    function deploy(
        InferenceMarket market,
        MockVerificationModule module,
        MockERC20 token,
        uint256 modelId,
        address owner,
        address[] memory requesters,
        address[] memory operators,
        address[] memory accounts
    ) public returns (MarketHandler) {
        return new MarketHandler(market, module, token, modelId, owner, requesters, operators, accounts);
    }
}

/// @title MarketInvariantsTest
/// @notice Invariants of the market and vault under random sequences of MarketHandler actions.
/// forge-config: default.invariant.runs = 128
/// forge-config: default.invariant.depth = 64
contract MarketInvariantsTest is MarketInvariantsTestFixture {
    MarketHandler internal handler;
    address[] internal _operators;
    address[] internal _accounts;

    function setUp() public {
        vm.warp(1_700_000_000);
        _deployMarket(500, 2_000);
        vault.setUnbondingDelay(1 days);
        market.setClaimWindow(4 hours);
        module.setFeeBps(1_000);

        address[] memory requesters = new address[](3);
        requesters[0] = address(0x10001);
        requesters[1] = address(0x10002);
        requesters[2] = address(0x10003);
        _operators.push(address(0x20001));
        _operators.push(address(0x20002));
        _operators.push(address(0x20003));
        for (uint256 i = 0; i < 3; ++i) {
            _stakeOperator(_operators[i], 50 ether);
            _accounts.push(requesters[i]);
            _accounts.push(_operators[i]);
        }
        _accounts.push(address(0x30001)); // a verifier
        _accounts.push(MARKET_TREASURY);
        _accounts.push(VAULT_TREASURY);

        handler = HandlerDeployer.deploy(
            market,
            module,
            token,
            modelId,
            address(this),
            requesters,
            _operators,
            _accounts
        );

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](18);
        selectors[0] = MarketHandler.createEthRequest.selector;
        selectors[1] = MarketHandler.createTokenRequest.selector;
        selectors[2] = MarketHandler.refund.selector;
        selectors[3] = MarketHandler.withdraw.selector;
        selectors[4] = MarketHandler.claim.selector;
        selectors[5] = MarketHandler.submit.selector;
        selectors[6] = MarketHandler.reopen.selector;
        selectors[7] = MarketHandler.stake.selector;
        selectors[8] = MarketHandler.requestUnbond.selector;
        selectors[9] = MarketHandler.withdrawStake.selector;
        selectors[10] = MarketHandler.withdrawSlashProceeds.selector;
        selectors[11] = MarketHandler.scriptVerdict.selector;
        selectors[12] = MarketHandler.finalize.selector;
        selectors[13] = MarketHandler.warp.selector;
        selectors[14] = MarketHandler.setTerms.selector;
        selectors[15] = MarketHandler.scriptVerdictAndFinalize.selector;
        selectors[16] = MarketHandler.fulfill.selector;
        selectors[17] = MarketHandler.fulfillBatch.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ------------------------------------------------------------------ invariants

    /// @notice Escrow solvency: each asset's balance covers what the market owes in it, and the ledger is
    /// exact: liabilities = escrow of unsettled requests + credited, unwithdrawn payments. The vault holds
    /// exactly what it owes: every stake plus unwithdrawn slash proceeds.
    function invariant_escrowSolvency() public view {
        uint256 ethLiabilities = market.liabilities(address(0));
        uint256 tokenLiabilities = market.liabilities(address(token));
        assertGe(address(market).balance, ethLiabilities, "market ETH balance >= ETH liabilities");
        assertGe(token.balanceOf(address(market)), tokenLiabilities, "market token balance >= token liabilities");

        uint256 ethLedger;
        uint256 tokenLedger;
        uint256 count = market.requestCount();
        for (uint256 id = 1; id <= count; ++id) {
            IInferenceMarket.Request memory request = market.getRequest(id);
            if (
                request.status == IInferenceMarket.Status.Finalized ||
                request.status == IInferenceMarket.Status.Refunded
            ) continue;
            if (request.token == address(0)) ethLedger += request.price + request.verificationFee;
            else tokenLedger += request.price + request.verificationFee;
        }
        for (uint256 i = 0; i < _accounts.length; ++i) {
            ethLedger += market.owed(_accounts[i], address(0));
            tokenLedger += market.owed(_accounts[i], address(token));
        }
        assertEq(ethLiabilities, ethLedger, "ETH liabilities == open escrow + owed");
        assertEq(tokenLiabilities, tokenLedger, "token liabilities == open escrow + owed");

        assertEq(address(vault).balance, vault.totalLiabilities(), "vault balance == totalLiabilities");
        uint256 vaultLedger;
        for (uint256 i = 0; i < _operators.length; ++i) vaultLedger += vault.stakeOf(_operators[i]).total;
        for (uint256 i = 0; i < _accounts.length; ++i) vaultLedger += vault.slashProceedsOf(_accounts[i]);
        assertEq(vault.totalLiabilities(), vaultLedger, "vault liabilities == stakes + slash proceeds");
        assertFalse(handler.ghostWithdrawMismatch(), "a withdrawal paid a different amount than owed");
    }

    /// @notice A request pays out at most once: finalize/refund succeed at most once per request, the
    /// settlement credits exactly its escrow, nothing is ever credited beyond it, and a verdict outside
    /// the escrow or the lock never settles.
    function invariant_requestPaysOutAtMostOnce() public view {
        uint256 count = market.requestCount();
        for (uint256 id = 1; id <= count; ++id) {
            uint256 settlements = handler.ghostSettlements(id);
            assertLe(settlements, 1, "request settled more than once");
            assertLe(handler.ghostCredited(id), handler.ghostEscrow(id), "credited more than the escrow");
            IInferenceMarket.Status status = market.getRequest(id).status;
            bool settled = status == IInferenceMarket.Status.Finalized || status == IInferenceMarket.Status.Refunded;
            assertEq(settled, settlements == 1, "settled status <=> one recorded settlement");
        }
        assertFalse(handler.ghostSettlementCreditMismatch(), "a settlement credited other than its escrow");
        assertFalse(handler.ghostOutOfBoundsVerdictSettled(), "an out-of-bounds verdict settled");
    }

    /// @notice Slashes never exceed locked stake: per lock, slashed <= locked; open locks in the vault
    /// match the ghost locks; each staker's total covers its locked + unbonding stake; every slashed wei
    /// sits in (or left as) slash proceeds.
    function invariant_slashNeverExceedsLock() public view {
        uint256 locks = handler.lockCount();
        uint256[] memory openLocked = new uint256[](_operators.length);
        for (uint256 i = 0; i < locks; ++i) {
            MarketHandler.LockGhost memory held = handler.lockAt(i);
            assertLe(held.slashed, held.amount, "slashed more than the lock");
            if (!held.open) continue;
            assertEq(held.slashed, 0, "open lock already slashed");
            IStakingVault.Lock memory onChain = vault.getLock(market.operatorLockId(held.requestId, held.operator));
            assertEq(onChain.staker, held.operator, "open lock exists in the vault");
            assertEq(onChain.amount, held.amount, "open lock amount");
            for (uint256 k = 0; k < _operators.length; ++k) {
                if (_operators[k] == held.operator) openLocked[k] += held.amount;
            }
        }
        for (uint256 k = 0; k < _operators.length; ++k) {
            IStakingVault.StakeInfo memory info = vault.stakeOf(_operators[k]);
            assertGe(info.total, info.locked + info.unbonding, "total >= locked + unbonding");
            assertEq(info.locked, openLocked[k], "vault locked == sum of open locks");
        }
        uint256 proceeds = handler.ghostSlashProceedsWithdrawn();
        for (uint256 i = 0; i < _accounts.length; ++i) proceeds += vault.slashProceedsOf(_accounts[i]);
        assertEq(proceeds, handler.ghostTotalSlashed(), "slash proceeds == total slashed");
    }

    /// @notice Request bookkeeping: every created request has its escrow recorded and its status and
    /// lock agree (a Claimed or Submitted request has an operator, Open has none).
    function invariant_requestLifecycle() public view {
        uint256 count = market.requestCount();
        for (uint256 id = 1; id <= count; ++id) {
            IInferenceMarket.Request memory request = market.getRequest(id);
            assertEq(handler.ghostEscrow(id), request.price + request.verificationFee, "escrow recorded at creation");
            if (request.status == IInferenceMarket.Status.Open) {
                assertEq(request.operator, address(0), "open request has no operator");
            }
            if (
                request.status == IInferenceMarket.Status.Claimed || request.status == IInferenceMarket.Status.Submitted
            ) {
                assertTrue(request.operator != address(0), "claimed request has an operator");
                IStakingVault.Lock memory held = vault.getLock(market.operatorLockId(id, request.operator));
                assertEq(held.amount, request.operatorStake, "assigned operator's stake is locked");
            }
        }
    }

    function _logCalls() internal view {
        console.log("create eth/token", handler.callsCreateEth(), handler.callsCreateToken());
        console.log(
            "claim / submit / refused",
            handler.callsClaim(),
            handler.callsSubmit(),
            handler.callsSubmitRefused()
        );
        console.log("verdicts / out of bounds", handler.callsVerdict(), handler.callsVerdictOutOfBounds());
        console.log(
            "finalize accepted / rejected / failed",
            handler.callsFinalizeAccepted(),
            handler.callsFinalizeRejected(),
            handler.callsFinalizeFailed()
        );
        console.log(
            "reopen / refund / refund failed",
            handler.callsReopen(),
            handler.callsRefund(),
            handler.callsRefundFailed()
        );
        console.log(
            "slashes / withdraw / withdrawProceeds",
            handler.callsSlashes(),
            handler.callsWithdraw(),
            handler.callsWithdrawProceeds()
        );
        console.log(
            "stake / unbond / withdrawStake",
            handler.callsStake(),
            handler.callsUnbond(),
            handler.callsWithdrawStake()
        );
        console.log("warp / setTerms / total", handler.callsWarp(), handler.callsSetTerms(), handler.totalCalls());
        console.log(
            "fulfill / of a claim / refused",
            handler.callsFulfill(),
            handler.callsFulfillClaimed(),
            handler.callsFulfillRefused()
        );
        console.log("fulfillBatch / refused", handler.callsFulfillBatch(), handler.callsFulfillBatchRefused());
    }

    /// @notice Runs after each invariant run: the handler really made calls (all actions are no-revert).
    function afterInvariant() public view {
        assertGt(handler.totalCalls(), 0, "handler made no calls");
    }

    // ------------------------------------------------------------------ coverage of the handler

    /// @notice Drives the handler through a long deterministic pseudo-random sequence and checks that
    /// every path the invariants are about is really reached (settlements of both kinds, refunds,
    /// no-show reopens, slashes, out-of-bounds verdicts refused, withdrawals), then checks the invariants.
    function test_handlerReachesEveryPath() public {
        for (uint256 i = 0; i < 600; ++i) {
            uint256 r = uint256(keccak256(abi.encode(i)));
            uint256 a = uint256(keccak256(abi.encode(r)));
            uint256 b = uint256(keccak256(abi.encode(a)));
            uint256 c = uint256(keccak256(abi.encode(b)));
            uint256 action = r % 18;
            if (action == 0) handler.createEthRequest(a, b, c);
            else if (action == 1) handler.createTokenRequest(a, b, c);
            else if (action == 2) handler.refund(a, b);
            else if (action == 3) handler.withdraw(a, b % 2 == 0);
            else if (action == 4) handler.claim(a, b);
            else if (action == 5) handler.submit(a, b);
            else if (action == 6) handler.reopen(a, b % 4 == 0);
            else if (action == 7) handler.stake(a, b);
            else if (action == 8) handler.requestUnbond(a, b);
            else if (action == 9) handler.withdrawStake(a, b % 2 == 0);
            else if (action == 10) handler.withdrawSlashProceeds(a);
            else if (action == 11) handler.scriptVerdict(a, b, c, r >> 8);
            else if (action == 12) handler.finalize(a, b);
            else if (action == 13) handler.warp(a % 2 hours);
            else if (action == 14) handler.setTerms(a, b, c);
            else if (action == 15) handler.fulfill(a, b, c);
            else if (action == 16) handler.fulfillBatch(a, b, c);
            else handler.scriptVerdictAndFinalize(a, b, c, r >> 8);
            if (i % 50 == 49) {
                invariant_escrowSolvency();
                invariant_requestPaysOutAtMostOnce();
                invariant_slashNeverExceedsLock();
                invariant_requestLifecycle();
            }
        }
        _logCalls();
        assertGt(handler.callsCreateEth(), 0, "ETH requests created");
        assertGt(handler.callsCreateToken(), 0, "token requests created");
        assertGt(handler.callsClaim(), 0, "claims");
        assertGt(handler.callsSubmit(), 0, "submissions");
        assertGt(handler.callsSubmitRefused(), 0, "refused submissions");
        assertGt(handler.callsVerdict(), 0, "verdicts");
        assertGt(handler.callsVerdictOutOfBounds(), 0, "out-of-bounds verdicts");
        assertGt(handler.callsFinalizeAccepted(), 0, "accepted finalizations");
        assertGt(handler.callsFinalizeRejected(), 0, "rejected finalizations");
        assertGt(handler.callsFinalizeFailed(), 0, "refused finalizations");
        assertGt(handler.callsReopen(), 0, "no-show reopens");
        assertGt(handler.callsRefund(), 0, "refunds");
        assertGt(handler.callsRefundFailed(), 0, "refused refunds");
        assertGt(handler.callsSlashes(), 0, "non-zero slashes");
        assertGt(handler.callsWithdraw(), 0, "market withdrawals");
        assertGt(handler.callsWithdrawProceeds(), 0, "slash proceeds withdrawals");
        assertGt(handler.callsWithdrawStake(), 0, "stake withdrawals");
        assertGt(handler.callsFulfill(), 0, "one-transaction settlements");
        assertGt(handler.callsFulfillClaimed(), 0, "claimants settling in one transaction");
        assertGt(handler.callsFulfillRefused(), 0, "refused fulfills");
        assertGt(handler.callsFulfillBatch(), 0, "batch settlements");
        assertGt(handler.callsFulfillBatchRefused(), 0, "refused batches");
    }
}
