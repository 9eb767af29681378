// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {StakingVault} from "../../contracts/StakingVault.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {IStakingVault} from "../../contracts/interfaces/IStakingVault.sol";

/// @notice Deploys outside the test contract to keep it under the size limit (see utils/MarketFixture.sol).
library StakingVaultTestDeployer {
    function vault(
        address owner,
        address asset,
        address treasury,
        uint64 unbondingDelay,
        uint16 beneficiaryShareBps
    ) public returns (StakingVault) {
        return new StakingVault(owner, asset, treasury, unbondingDelay, beneficiaryShareBps, 1);
    }

    function token() public returns (MockERC20) {
        return new MockERC20("Stake", "STK");
    }
}

/// @notice Fuzz tests of StakingVault accounting: stake / unbond / lock / slash / unlock amounts.
/// The test contract is the governance owner and an authorised locker, so it drives locks directly.
contract StakingVaultFuzzTest is Test {
    uint64 internal constant DELAY = 7 days;
    uint256 internal constant MAX_STAKE = 1e30;
    address internal constant TREASURY = address(0x7EA5);
    address internal constant STAKER = address(0xA11CE);
    address internal constant VICTIM = address(0xB0B);
    bytes32 internal constant LOCK_ID = keccak256("lock");

    StakingVault internal vault;

    function setUp() public {
        vault = StakingVaultTestDeployer.vault(address(this), address(0), TREASURY, DELAY, 5_000);
        vault.setAuthorised(address(this), true);
        vm.warp(1_700_000_000);
    }

    function _stake(address staker, uint256 amount) internal {
        vm.deal(staker, staker.balance + amount);
        vm.prank(staker);
        vault.stake{value: amount}(amount);
    }

    /// @dev total == free + locked + unbonding, and the vault holds exactly what it owes.
    function _assertAccounting(address staker) internal view {
        IStakingVault.StakeInfo memory info = vault.stakeOf(staker);
        assertEq(
            info.total,
            vault.freeStake(staker) + info.locked + info.unbonding,
            "total = free + locked + unbonding"
        );
        assertEq(address(vault).balance, vault.totalLiabilities(), "vault balance == totalLiabilities");
    }

    function testFuzz_stakeUnbondWithdraw(uint256 stakeAmount, uint256 unbondAmount, uint256 waitTime) public {
        stakeAmount = bound(stakeAmount, 1, MAX_STAKE);
        unbondAmount = bound(unbondAmount, 1, stakeAmount);
        waitTime = bound(waitTime, 0, 2 * DELAY);

        _stake(STAKER, stakeAmount);
        assertEq(vault.freeStake(STAKER), stakeAmount, "all stake free after staking");
        _assertAccounting(STAKER);

        vm.prank(STAKER);
        vault.requestUnbond(unbondAmount);
        IStakingVault.StakeInfo memory info = vault.stakeOf(STAKER);
        assertEq(info.unbonding, unbondAmount, "unbonding");
        assertEq(vault.freeStake(STAKER), stakeAmount - unbondAmount, "free after unbond");
        assertEq(info.unbondingReadyAt, block.timestamp + DELAY, "ready at");
        _assertAccounting(STAKER);

        vm.warp(block.timestamp + waitTime);
        if (waitTime < DELAY) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IStakingVault.StakingVaultUnbondingNotReady.selector,
                    info.unbondingReadyAt,
                    block.timestamp
                )
            );
            vm.prank(STAKER);
            vault.withdraw();
            return;
        }
        uint256 before = STAKER.balance;
        vm.prank(STAKER);
        vault.withdraw();
        assertEq(STAKER.balance - before, unbondAmount, "withdrawn exactly the unbonding amount");
        assertEq(vault.stakeOf(STAKER).total, stakeAmount - unbondAmount, "total after withdraw");
        _assertAccounting(STAKER);
    }

    function testFuzz_unbondBeyondFreeReverts(uint256 stakeAmount, uint256 lockAmount, uint256 excess) public {
        stakeAmount = bound(stakeAmount, 1, MAX_STAKE);
        lockAmount = bound(lockAmount, 0, stakeAmount);
        excess = bound(excess, 1, MAX_STAKE);
        _stake(STAKER, stakeAmount);
        vault.lock(LOCK_ID, STAKER, lockAmount);

        uint256 free = stakeAmount - lockAmount;
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakingVault.StakingVaultInsufficientFreeStake.selector,
                STAKER,
                free + excess,
                free
            )
        );
        vm.prank(STAKER);
        vault.requestUnbond(free + excess);
    }

    function testFuzz_lockBeyondFreeReverts(uint256 stakeAmount, uint256 unbondAmount, uint256 excess) public {
        stakeAmount = bound(stakeAmount, 1, MAX_STAKE);
        unbondAmount = bound(unbondAmount, 1, stakeAmount);
        excess = bound(excess, 1, MAX_STAKE);
        _stake(STAKER, stakeAmount);
        vm.prank(STAKER);
        vault.requestUnbond(unbondAmount);

        uint256 free = stakeAmount - unbondAmount;
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakingVault.StakingVaultInsufficientFreeStake.selector,
                STAKER,
                free + excess,
                free
            )
        );
        vault.lock(LOCK_ID, STAKER, free + excess);
    }

    /// @notice Slashes within the lock succeed, reduce the staker by exactly the slash, and split the
    /// proceeds between beneficiary and treasury without changing what the vault owes.
    function testFuzz_slashWithinLock(
        uint256 stakeAmount,
        uint256 unbondAmount,
        uint256 lockAmount,
        uint256 slashAmount,
        uint16 shareBps
    ) public {
        stakeAmount = bound(stakeAmount, 2, MAX_STAKE);
        unbondAmount = bound(unbondAmount, 0, stakeAmount - 1);
        lockAmount = bound(lockAmount, 0, stakeAmount - unbondAmount);
        slashAmount = bound(slashAmount, 0, lockAmount);
        shareBps = uint16(bound(shareBps, 0, 10_000));
        vault.setBeneficiaryShareBps(shareBps);

        _stake(STAKER, stakeAmount);
        if (unbondAmount > 0) {
            vm.prank(STAKER);
            vault.requestUnbond(unbondAmount);
        }
        vault.lock(LOCK_ID, STAKER, lockAmount);
        _assertAccounting(STAKER);
        uint256 liabilities = vault.totalLiabilities();

        vault.slash(LOCK_ID, slashAmount, VICTIM);

        IStakingVault.StakeInfo memory info = vault.stakeOf(STAKER);
        assertEq(info.total, stakeAmount - slashAmount, "total reduced by the slash");
        assertEq(info.locked, lockAmount - slashAmount, "locked reduced by the slash");
        assertEq(info.unbonding, unbondAmount, "unbonding untouched by a slash");
        assertEq(vault.getLock(LOCK_ID).amount, lockAmount - slashAmount, "lock holds the rest");
        uint256 toVictim = (slashAmount * shareBps) / 10_000;
        assertEq(vault.slashProceedsOf(VICTIM), toVictim, "beneficiary share");
        assertEq(vault.slashProceedsOf(TREASURY), slashAmount - toVictim, "treasury share");
        assertEq(vault.totalLiabilities(), liabilities, "a slash moves liabilities, never changes them");
        _assertAccounting(STAKER);

        // A second slash can take at most what is left.
        uint256 rest = lockAmount - slashAmount;
        vm.expectRevert(
            abi.encodeWithSelector(IStakingVault.StakingVaultSlashExceedsLock.selector, LOCK_ID, rest + 1, rest)
        );
        vault.slash(LOCK_ID, rest + 1, VICTIM);

        // Unlock returns the remainder to free stake.
        assertEq(vault.unlock(LOCK_ID), rest, "unlock releases the remainder");
        assertEq(vault.stakeOf(STAKER).locked, 0, "nothing locked after unlock");
        assertEq(vault.freeStake(STAKER), stakeAmount - unbondAmount - slashAmount, "free after unlock");
        _assertAccounting(STAKER);

        // Proceeds leave the vault exactly once.
        if (toVictim > 0) {
            uint256 before = VICTIM.balance;
            vm.prank(VICTIM);
            vault.withdrawSlashProceeds();
            assertEq(VICTIM.balance - before, toVictim, "beneficiary withdrew its share");
            vm.expectRevert(abi.encodeWithSelector(IStakingVault.StakingVaultNothingToWithdraw.selector, VICTIM));
            vm.prank(VICTIM);
            vault.withdrawSlashProceeds();
        }
        _assertAccounting(STAKER);
    }

    function testFuzz_slashBeyondLockReverts(uint256 stakeAmount, uint256 lockAmount, uint256 slashAmount) public {
        stakeAmount = bound(stakeAmount, 1, MAX_STAKE);
        lockAmount = bound(lockAmount, 0, stakeAmount);
        slashAmount = bound(slashAmount, lockAmount + 1, type(uint256).max);
        _stake(STAKER, stakeAmount);
        vault.lock(LOCK_ID, STAKER, lockAmount);

        vm.expectRevert(
            abi.encodeWithSelector(
                IStakingVault.StakingVaultSlashExceedsLock.selector,
                LOCK_ID,
                slashAmount,
                lockAmount
            )
        );
        vault.slash(LOCK_ID, slashAmount, VICTIM);
        assertEq(vault.stakeOf(STAKER).total, stakeAmount, "nothing slashed");
    }

    /// @notice Any sequence of slashes on one lock sums to at most the lock.
    function testFuzz_repeatedSlashesBoundedByLock(uint256 lockAmount, uint256[6] memory slashes) public {
        lockAmount = bound(lockAmount, 1, MAX_STAKE);
        _stake(STAKER, lockAmount + 1 ether);
        vault.lock(LOCK_ID, STAKER, lockAmount);

        uint256 slashed = 0;
        for (uint256 i = 0; i < slashes.length; ++i) {
            uint256 amount = bound(slashes[i], 0, lockAmount);
            uint256 remaining = lockAmount - slashed;
            if (amount > remaining) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IStakingVault.StakingVaultSlashExceedsLock.selector,
                        LOCK_ID,
                        amount,
                        remaining
                    )
                );
                vault.slash(LOCK_ID, amount, VICTIM);
            } else {
                vault.slash(LOCK_ID, amount, VICTIM);
                slashed += amount;
            }
            assertLe(slashed, lockAmount, "slashed <= locked");
            assertEq(vault.stakeOf(STAKER).total, lockAmount + 1 ether - slashed, "total tracks slashes");
            _assertAccounting(STAKER);
        }
    }

    function testFuzz_onlyLockOwnerSlashesAndUnlocks(uint256 lockAmount, address intruder) public {
        vm.assume(intruder != address(this) && intruder != address(0));
        lockAmount = bound(lockAmount, 1, MAX_STAKE);
        _stake(STAKER, lockAmount);
        vault.lock(LOCK_ID, STAKER, lockAmount);
        vault.setAuthorised(intruder, true);

        vm.expectRevert(abi.encodeWithSelector(IStakingVault.StakingVaultNotLockOwner.selector, LOCK_ID, intruder));
        vm.prank(intruder);
        vault.slash(LOCK_ID, lockAmount, intruder);

        vm.expectRevert(abi.encodeWithSelector(IStakingVault.StakingVaultNotLockOwner.selector, LOCK_ID, intruder));
        vm.prank(intruder);
        vault.unlock(LOCK_ID);

        vault.setAuthorised(intruder, false);
        vm.expectRevert(abi.encodeWithSelector(IStakingVault.StakingVaultNotAuthorised.selector, intruder));
        vm.prank(intruder);
        vault.lock(keccak256("other"), STAKER, 0);
    }

    /// @notice Same accounting with an ERC-20 stake asset.
    function testFuzz_tokenVaultAccounting(uint256 stakeAmount, uint256 lockAmount, uint256 slashAmount) public {
        MockERC20 asset = StakingVaultTestDeployer.token();
        StakingVault tokenVault = StakingVaultTestDeployer.vault(address(this), address(asset), TREASURY, DELAY, 2_500);
        tokenVault.setAuthorised(address(this), true);
        stakeAmount = bound(stakeAmount, 1, MAX_STAKE);
        lockAmount = bound(lockAmount, 0, stakeAmount);
        slashAmount = bound(slashAmount, 0, lockAmount);

        asset.mint(STAKER, stakeAmount);
        vm.deal(STAKER, 1);
        vm.startPrank(STAKER);
        asset.approve(address(tokenVault), stakeAmount);
        vm.expectRevert(abi.encodeWithSelector(IStakingVault.StakingVaultWrongValue.selector, 1, 0));
        tokenVault.stake{value: 1}(stakeAmount);
        tokenVault.stake(stakeAmount);
        vm.stopPrank();

        tokenVault.lock(LOCK_ID, STAKER, lockAmount);
        tokenVault.slash(LOCK_ID, slashAmount, VICTIM);
        tokenVault.unlock(LOCK_ID);
        assertEq(asset.balanceOf(address(tokenVault)), tokenVault.totalLiabilities(), "token balance == liabilities");
        assertEq(tokenVault.freeStake(STAKER), stakeAmount - slashAmount, "free after slash");

        uint256 toTreasury = slashAmount - (slashAmount * 2_500) / 10_000;
        if (toTreasury > 0) {
            vm.prank(TREASURY);
            tokenVault.withdrawSlashProceeds();
            assertEq(asset.balanceOf(TREASURY), toTreasury, "treasury proceeds");
        }
        assertEq(asset.balanceOf(address(tokenVault)), tokenVault.totalLiabilities(), "token balance == liabilities");
    }
}
