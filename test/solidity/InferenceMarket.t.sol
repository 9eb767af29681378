// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {ModelRegistry} from "../../contracts/ModelRegistry.sol";
import {StakingVault} from "../../contracts/StakingVault.sol";
import {InferenceMarket} from "../../contracts/InferenceMarket.sol";
import {MockVerificationModule} from "../../contracts/mocks/MockVerificationModule.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";
import {IStakingVault} from "../../contracts/interfaces/IStakingVault.sol";
import {IVerificationModule} from "../../contracts/interfaces/IVerificationModule.sol";

// Deployer libraries for the contracts of this file (see MarketFixture for why they exist and why they
// are declared here rather than in a shared helper).

library InferenceMarketTestMarketDeployer {
    function deploy(
        address owner,
        IModelRegistry registry,
        IStakingVault vault,
        InferenceMarket.Parameters memory params
    ) public returns (InferenceMarket) {
        return new InferenceMarket(owner, registry, vault, params);
    }
}

library InferenceMarketTestVaultDeployer {
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

library InferenceMarketTestPeripheryDeployer {
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
abstract contract InferenceMarketTestFixture is MarketFixture {
    function _newRegistry(address owner) internal override returns (ModelRegistry) {
        return InferenceMarketTestPeripheryDeployer.registry(owner);
    }

    function _newVault(
        address owner,
        address asset,
        address treasury,
        uint64 unbondingDelay,
        uint16 beneficiaryShareBps
    ) internal override returns (StakingVault) {
        return InferenceMarketTestVaultDeployer.deploy(owner, asset, treasury, unbondingDelay, beneficiaryShareBps);
    }

    function _newMarket(
        address owner,
        IModelRegistry registry_,
        IStakingVault vault_,
        InferenceMarket.Parameters memory params
    ) internal override returns (InferenceMarket) {
        return InferenceMarketTestMarketDeployer.deploy(owner, registry_, vault_, params);
    }

    function _newModule(address market_) internal override returns (MockVerificationModule) {
        return InferenceMarketTestPeripheryDeployer.module(market_);
    }

    function _newToken() internal override returns (MockERC20) {
        return InferenceMarketTestPeripheryDeployer.token();
    }
}

/// @notice Shared setup of the InferenceMarket fuzz tests (split over three contracts to keep each
/// under the contract size limit).
abstract contract InferenceMarketFuzzBase is InferenceMarketTestFixture {
    address internal constant REQUESTER = address(0xAA01);
    address internal constant OPERATOR = address(0xAA02);
    address internal constant VERIFIER_A = address(0xAA03);
    address internal constant VERIFIER_B = address(0xAA04);
    address internal constant WHISTLEBLOWER = address(0xAA05);
    uint256 internal constant MAX_PRICE = 1e30;

    function setUp() public {
        vm.warp(1_700_000_000);
        _deployMarket(500, 2_000);
        _stakeOperator(OPERATOR, 1e36);
    }

    // ------------------------------------------------------------------ helpers

    struct Split {
        uint256 price;
        uint256 feeBps;
        uint16 protocolFeeBps;
        uint256 rewardA;
        uint256 rewardB;
        uint256 slash;
        bool accepted;
        bool tokenPayment;
    }

    /// @dev Sum of what the market owes every account a settlement can credit, in `payToken`.
    function _owedSum(address payToken) internal view returns (uint256) {
        return
            market.owed(REQUESTER, payToken) +
            market.owed(OPERATOR, payToken) +
            market.owed(MARKET_TREASURY, payToken) +
            market.owed(VERIFIER_A, payToken) +
            market.owed(VERIFIER_B, payToken);
    }

    function _balanceOf(address payToken, address account) internal view returns (uint256) {
        return payToken == address(0) ? account.balance : token.balanceOf(account);
    }

    function _assertSolvent() internal view {
        assertGe(address(market).balance, market.liabilities(address(0)), "ETH balance >= ETH liabilities");
        assertGe(token.balanceOf(address(market)), market.liabilities(address(token)), "token balance >= liabilities");
        assertEq(address(vault).balance, vault.totalLiabilities(), "vault balance == liabilities");
    }

    function _claimAndSubmit(uint256 requestId) internal {
        vm.prank(OPERATOR);
        market.claim(requestId);
        vm.prank(OPERATOR);
        market.submitResult(requestId, hex"c0ffee", "");
    }
}

/// @notice Fee splits and settlement: credits always add up to the escrow.
contract InferenceMarketSettlementFuzzTest is InferenceMarketFuzzBase {
    /// @notice Whatever the price, module fee, protocol fee, reward split, slash and verdict, the credits
    /// of a settlement add up to exactly the escrow, and everything can be withdrawn.
    function testFuzz_feeSplitConservesEscrow(Split memory s) public {
        s.price = bound(s.price, 1, MAX_PRICE);
        s.feeBps = bound(s.feeBps, 0, 30_000);
        s.protocolFeeBps = uint16(bound(s.protocolFeeBps, 0, 2_000));
        address payToken = s.tokenPayment ? address(token) : address(0);
        registry.setPrice(modelId, payToken, s.price);
        module.setFeeBps(s.feeBps);
        market.setProtocolFee(s.protocolFeeBps);

        (uint256 price, uint256 fee) = market.quote(modelId, MODE, payToken);
        assertEq(price, s.price, "quoted price");
        assertEq(fee, (s.price * s.feeBps) / 10_000, "quoted fee");
        uint256 escrow = price + fee;

        uint256 id = _createRequest(REQUESTER, payToken, uint64(block.timestamp + 1 days));
        assertEq(market.liabilities(payToken), escrow, "escrowed");
        _claimAndSubmit(id);

        s.rewardA = bound(s.rewardA, 0, fee);
        s.rewardB = bound(s.rewardB, 0, fee - s.rewardA);
        s.slash = bound(s.slash, 0, OPERATOR_STAKE);
        IVerificationModule.Reward[] memory rewards = new IVerificationModule.Reward[](2);
        rewards[0] = IVerificationModule.Reward({to: VERIFIER_A, amount: s.rewardA});
        rewards[1] = IVerificationModule.Reward({to: VERIFIER_B, amount: s.rewardB});
        module.setVerdict(id, _settlement(s.accepted, OPERATOR, s.slash, WHISTLEBLOWER, rewards));

        uint256 operatorStakeBefore = vault.stakeOf(OPERATOR).total;
        market.finalize(id);

        uint256 protocolFee = s.accepted ? (price * s.protocolFeeBps) / 10_000 : 0;
        uint256 operatorPayment = s.accepted ? price - protocolFee : 0;
        uint256 refund = escrow - operatorPayment - protocolFee - s.rewardA - s.rewardB;
        assertEq(market.owed(OPERATOR, payToken), operatorPayment, "operator payment");
        assertEq(market.owed(MARKET_TREASURY, payToken), protocolFee, "protocol fee");
        assertEq(market.owed(VERIFIER_A, payToken), s.rewardA, "reward A");
        assertEq(market.owed(VERIFIER_B, payToken), s.rewardB, "reward B");
        assertEq(market.owed(REQUESTER, payToken), refund, "requester refund");
        assertEq(operatorPayment + protocolFee + s.rewardA + s.rewardB + refund, escrow, "split == escrow");
        assertEq(_owedSum(payToken), escrow, "credits == escrow");
        assertEq(market.liabilities(payToken), escrow, "settlement moves liabilities, never changes them");

        // Slash bounded by the lock, the lock released, the whistleblower paid its share.
        assertEq(vault.stakeOf(OPERATOR).total, operatorStakeBefore - s.slash, "operator slashed exactly");
        assertEq(vault.stakeOf(OPERATOR).locked, 0, "lock released");
        assertEq(vault.slashProceedsOf(WHISTLEBLOWER), (s.slash * BENEFICIARY_SHARE_BPS) / 10_000, "beneficiary");
        _assertSolvent();

        // Nothing pays out twice.
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                id,
                IInferenceMarket.Status.Finalized
            )
        );
        market.finalize(id);
        vm.warp(block.timestamp + 2 days);
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                id,
                IInferenceMarket.Status.Finalized
            )
        );
        market.refund(id);

        _withdrawAllAndAssertEmpty(payToken);
    }

    /// @notice One-transaction settlement (fulfill, an instant module): whatever the price, module fee and
    /// protocol fee, in ETH or a token, open or claimed first, the credits add up to exactly the escrow (the
    /// whole verification fee back to the requester), the lock is released, and nothing pays out twice.
    function testFuzz_fulfillConservesEscrow(
        uint256 price,
        uint256 feeBps,
        uint16 protocolFeeBps,
        bool tokenPayment,
        bool claimFirst
    ) public {
        price = bound(price, 1, MAX_PRICE);
        feeBps = bound(feeBps, 0, 30_000);
        protocolFeeBps = uint16(bound(protocolFeeBps, 0, 2_000));
        address payToken = tokenPayment ? address(token) : address(0);
        registry.setPrice(modelId, payToken, price);
        module.setFeeBps(feeBps);
        market.setProtocolFee(protocolFeeBps);
        (, uint256 fee) = market.quote(modelId, MODE, payToken);
        uint256 escrow = price + fee;
        uint256 id = _createRequest(REQUESTER, payToken, uint64(block.timestamp + 1 days));
        if (claimFirst) {
            vm.prank(OPERATOR);
            market.claim(id);
        }
        vm.prank(OPERATOR);
        market.fulfill(id, abi.encode(new int256[](1)), "");

        uint256 protocolFee = (price * protocolFeeBps) / 10_000;
        assertEq(market.owed(OPERATOR, payToken), price - protocolFee, "operator payment");
        assertEq(market.owed(MARKET_TREASURY, payToken), protocolFee, "protocol fee");
        assertEq(market.owed(REQUESTER, payToken), fee, "verification fee back");
        assertEq(_owedSum(payToken), escrow, "credits == escrow");
        assertEq(market.liabilities(payToken), escrow, "settlement moves liabilities, never changes them");
        assertEq(vault.stakeOf(OPERATOR).locked, 0, "nothing locked after");
        _assertSolvent();

        vm.prank(OPERATOR);
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                id,
                IInferenceMarket.Status.Finalized
            )
        );
        market.fulfill(id, abi.encode(new int256[](1)), "");
        vm.warp(block.timestamp + 2 days);
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                id,
                IInferenceMarket.Status.Finalized
            )
        );
        market.refund(id);
        _withdrawAllAndAssertEmpty(payToken);
    }

    /// @dev Every creditable account withdraws what it is owed; the market then holds nothing.
    function _withdrawAllAndAssertEmpty(address payToken) internal {
        address[5] memory accounts = [REQUESTER, OPERATOR, MARKET_TREASURY, VERIFIER_A, VERIFIER_B];
        for (uint256 i = 0; i < accounts.length; ++i) {
            uint256 due = market.owed(accounts[i], payToken);
            if (due == 0) continue;
            uint256 before = _balanceOf(payToken, accounts[i]);
            vm.prank(accounts[i]);
            market.withdraw(payToken);
            assertEq(_balanceOf(payToken, accounts[i]) - before, due, "withdrawn what was owed");
        }
        assertEq(market.liabilities(payToken), 0, "no liabilities left");
        assertEq(_balanceOf(payToken, address(market)), 0, "market emptied");
        _assertSolvent();
    }

    function testFuzz_rewardsAboveFeeRevert(uint256 feeBps, uint256 rewardA, uint256 excess) public {
        feeBps = bound(feeBps, 0, 30_000);
        module.setFeeBps(feeBps);
        uint256 id = _createRequest(REQUESTER, address(0), uint64(block.timestamp + 1 days));
        uint256 fee = market.getRequest(id).verificationFee;
        _claimAndSubmit(id);

        rewardA = bound(rewardA, 0, fee);
        excess = bound(excess, 1, MAX_PRICE);
        IVerificationModule.Reward[] memory rewards = new IVerificationModule.Reward[](2);
        rewards[0] = IVerificationModule.Reward({to: VERIFIER_A, amount: rewardA});
        rewards[1] = IVerificationModule.Reward({to: VERIFIER_B, amount: fee - rewardA + excess});
        module.setVerdict(id, _settlement(true, OPERATOR, 0, address(0), rewards));

        vm.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketRewardsExceedFee.selector, id, fee + excess, fee)
        );
        market.finalize(id);
    }

    function testFuzz_slashAboveStakeReverts(uint256 operatorStake, uint256 excess) public {
        operatorStake = bound(operatorStake, 0, 1e30);
        excess = bound(excess, 1, 1e30);
        registry.setOperatorStake(modelId, operatorStake);
        uint256 id = _createRequest(REQUESTER, address(0), uint64(block.timestamp + 1 days));
        _claimAndSubmit(id);
        assertEq(vault.stakeOf(OPERATOR).locked, operatorStake, "locked the model's stake");

        IVerificationModule.Reward[] memory none = new IVerificationModule.Reward[](0);
        module.setVerdict(id, _settlement(false, OPERATOR, operatorStake + excess, address(0), none));
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketSlashExceedsStake.selector,
                id,
                operatorStake + excess,
                operatorStake
            )
        );
        market.finalize(id);

        // The full lock can be slashed, to the requester by default.
        module.setVerdict(id, _settlement(false, OPERATOR, operatorStake, address(0), none));
        uint256 before = vault.stakeOf(OPERATOR).total;
        market.finalize(id);
        assertEq(before - vault.stakeOf(OPERATOR).total, operatorStake, "slashed the whole lock");
        assertEq(vault.slashProceedsOf(REQUESTER), (operatorStake * BENEFICIARY_SHARE_BPS) / 10_000, "requester share");
        _assertSolvent();
    }
}

/// @notice Payment intake: ETH overpayment credited back, wrong values and low fees refused.
contract InferenceMarketPaymentFuzzTest is InferenceMarketFuzzBase {
    /// @notice ETH above the quote is credited back to the requester and withdrawable.
    function testFuzz_ethOverpaymentCreditedBack(uint256 price, uint256 feeBps, uint256 extra) public {
        price = bound(price, 1, MAX_PRICE);
        feeBps = bound(feeBps, 0, 30_000);
        extra = bound(extra, 0, MAX_PRICE);
        registry.setPrice(modelId, address(0), price);
        module.setFeeBps(feeBps);
        (uint256 quotedPrice, uint256 fee) = market.quote(modelId, MODE, address(0));
        uint256 required = quotedPrice + fee;
        uint256 maxFee = required + extra;

        vm.deal(REQUESTER, maxFee);
        vm.prank(REQUESTER);
        uint256 id = market.createRequest{value: maxFee}(_params(address(0), maxFee, uint64(block.timestamp + 1)));

        IInferenceMarket.Request memory request = market.getRequest(id);
        assertEq(request.price + request.verificationFee, required, "escrow is the quote, not maxFee");
        assertEq(market.owed(REQUESTER, address(0)), extra, "overpayment credited");
        assertEq(market.liabilities(address(0)), maxFee, "liabilities == everything received");
        assertEq(address(market).balance, maxFee, "market holds everything received");

        if (extra > 0) {
            vm.prank(REQUESTER);
            market.withdraw(address(0));
            assertEq(REQUESTER.balance, extra, "overpayment withdrawn");
        }
        assertEq(market.liabilities(address(0)), required, "escrow remains");

        // After the deadline the escrow comes back too.
        vm.warp(block.timestamp + 2);
        market.refund(id);
        vm.prank(REQUESTER);
        market.withdraw(address(0));
        assertEq(REQUESTER.balance, maxFee, "requester made whole");
        assertEq(address(market).balance, 0, "market emptied");
        assertEq(market.liabilities(address(0)), 0, "no liabilities");
    }

    function testFuzz_wrongEthValueReverts(uint256 maxFee, uint256 value) public {
        (uint256 price, uint256 fee) = market.quote(modelId, MODE, address(0));
        maxFee = bound(maxFee, price + fee, MAX_PRICE);
        value = bound(value, 0, MAX_PRICE);
        vm.assume(value != maxFee);
        vm.deal(REQUESTER, value);
        vm.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketWrongValue.selector, value, maxFee));
        vm.prank(REQUESTER);
        market.createRequest{value: value}(_params(address(0), maxFee, uint64(block.timestamp + 1)));
    }

    function testFuzz_feeBelowQuoteReverts(uint256 feeBps, uint256 maxFee, bool tokenPayment) public {
        feeBps = bound(feeBps, 0, 30_000);
        module.setFeeBps(feeBps);
        address payToken = tokenPayment ? address(token) : address(0);
        (uint256 price, uint256 fee) = market.quote(modelId, MODE, payToken);
        maxFee = bound(maxFee, 0, price + fee - 1);
        vm.deal(REQUESTER, maxFee);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketFeeTooLow.selector, maxFee, price + fee)
        );
        vm.prank(REQUESTER);
        market.createRequest{value: tokenPayment ? 0 : maxFee}(_params(payToken, maxFee, uint64(block.timestamp + 1)));
    }

    /// @notice Token requests pull exactly the quote even when maxFee is higher, and refuse ETH.
    function testFuzz_tokenPullsExactlyTheQuote(uint256 extra) public {
        extra = bound(extra, 0, MAX_PRICE);
        (uint256 price, uint256 fee) = market.quote(modelId, MODE, address(token));
        uint256 required = price + fee;
        token.mint(REQUESTER, required + extra);
        vm.startPrank(REQUESTER);
        token.approve(address(market), required + extra);
        vm.deal(REQUESTER, 1);
        vm.expectRevert(abi.encodeWithSelector(IInferenceMarket.InferenceMarketWrongValue.selector, 1, 0));
        market.createRequest{value: 1}(_params(address(token), required + extra, uint64(block.timestamp + 1)));
        market.createRequest(_params(address(token), required + extra, uint64(block.timestamp + 1)));
        vm.stopPrank();
        assertEq(token.balanceOf(REQUESTER), extra, "only the quote pulled");
        assertEq(token.balanceOf(address(market)), required, "market holds the quote");
        assertEq(market.liabilities(address(token)), required, "liabilities == quote");
    }
}

/// @notice No-shows: the slash is bounded by the lock, refunds happen once.
contract InferenceMarketNoShowFuzzTest is InferenceMarketFuzzBase {
    /// @notice A no-show (reopen after the claim window) slashes noShowSlashBps of the lock, never more,
    /// and the request can be claimed again.
    function testFuzz_noShowSlashBoundedByLock(uint256 operatorStake, uint16 noShowBps, uint256 lateBy) public {
        operatorStake = bound(operatorStake, 0, 1e30);
        noShowBps = uint16(bound(noShowBps, 0, 10_000));
        lateBy = bound(lateBy, 1, 1 days);
        registry.setOperatorStake(modelId, operatorStake);
        market.setNoShowSlash(noShowBps);
        uint256 id = _createRequest(REQUESTER, address(0), uint64(block.timestamp + 3 days));

        vm.prank(OPERATOR);
        market.claim(id);
        IStakingVault.StakeInfo memory before = vault.stakeOf(OPERATOR);
        uint64 claimDeadline = market.getRequest(id).claimDeadline;
        assertEq(claimDeadline, block.timestamp + CLAIM_WINDOW, "claim window");

        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketClaimWindow.selector,
                id,
                claimDeadline,
                block.timestamp
            )
        );
        market.reopen(id);

        vm.warp(claimDeadline + lateBy);
        market.reopen(id);
        uint256 slashed = (operatorStake * noShowBps) / 10_000;
        IStakingVault.StakeInfo memory afterInfo = vault.stakeOf(OPERATOR);
        assertLe(slashed, operatorStake, "no-show slash <= lock");
        assertEq(before.total - afterInfo.total, slashed, "slashed exactly noShowSlashBps of the lock");
        assertEq(afterInfo.locked, before.locked - operatorStake, "lock released");
        assertEq(vault.slashProceedsOf(REQUESTER), (slashed * BENEFICIARY_SHARE_BPS) / 10_000, "requester share");
        assertEq(uint8(market.getRequest(id).status), uint8(IInferenceMarket.Status.Open), "reopened");
        assertEq(market.liabilities(address(0)), market.getRequest(id).price, "escrow untouched by a no-show");
        _assertSolvent();

        // The same operator may claim again under the same lock id.
        vm.prank(OPERATOR);
        market.claim(id);
        assertEq(vault.stakeOf(OPERATOR).locked, before.locked, "locked again");
    }

    /// @notice Refunding a claimed request past its deadline slashes the no-show once, refunds in full,
    /// and only once.
    function testFuzz_refundOfClaimedRequest(
        uint256 operatorStake,
        uint16 noShowBps,
        uint256 lateBy,
        bool tokenPayment
    ) public {
        operatorStake = bound(operatorStake, 0, 1e30);
        noShowBps = uint16(bound(noShowBps, 0, 10_000));
        lateBy = bound(lateBy, 1, 30 days);
        registry.setOperatorStake(modelId, operatorStake);
        market.setNoShowSlash(noShowBps);
        address payToken = tokenPayment ? address(token) : address(0);
        uint64 deadline = uint64(block.timestamp + 30 minutes); // shorter than the claim window
        uint256 id = _createRequest(REQUESTER, payToken, deadline);
        IInferenceMarket.Request memory request = market.getRequest(id);

        vm.prank(OPERATOR);
        market.claim(id);
        assertEq(market.getRequest(id).claimDeadline, deadline, "claim window capped by the deadline");
        uint256 totalBefore = vault.stakeOf(OPERATOR).total;

        vm.expectRevert(
            abi.encodeWithSelector(IInferenceMarket.InferenceMarketDeadline.selector, id, deadline, block.timestamp)
        );
        market.refund(id);

        vm.warp(deadline + lateBy);
        market.refund(id);
        assertEq(market.owed(REQUESTER, payToken), request.price + request.verificationFee, "full refund");
        assertEq(totalBefore - vault.stakeOf(OPERATOR).total, (operatorStake * noShowBps) / 10_000, "no-show slash");
        assertEq(vault.stakeOf(OPERATOR).locked, 0, "lock released");

        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                id,
                IInferenceMarket.Status.Refunded
            )
        );
        market.refund(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceMarket.InferenceMarketWrongStatus.selector,
                id,
                IInferenceMarket.Status.Refunded
            )
        );
        market.reopen(id);
        _assertSolvent();
    }
}
