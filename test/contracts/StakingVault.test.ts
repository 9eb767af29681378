import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import type { ReentrantToken, StakingVault } from "../../types/ethers-contracts/index.js";
import {
  BENEFICIARY_SHARE_BPS,
  BPS,
  DAY,
  deployEthVaultFixture,
  deployTokenVaultFixture,
  ETH,
  ethers,
  expectVaultSolvent,
  MIN_POOL_STAKE,
  namedSigners,
  networkHelpers,
  Role,
  time,
  UNBONDING_DELAY,
} from "./fixtures.js";

const ONE = ethers.parseEther("1");
const LOCK_A = ethers.id("lock-a");
const LOCK_B = ethers.id("lock-b");
const MAX_DELAY = 365n * DAY;

type EthVault = Awaited<ReturnType<typeof deployEthVaultFixture>>;
type TokenVault = Awaited<ReturnType<typeof deployTokenVaultFixture>>;

describe("StakingVault", () => {
  describe("deployment", () => {
    it("stores its parameters", async () => {
      const f = await networkHelpers.loadFixture(deployEthVaultFixture);
      expect(await f.vault.asset()).to.equal(ETH);
      expect(await f.vault.treasury()).to.equal(f.treasury.address);
      expect(await f.vault.unbondingDelay()).to.equal(UNBONDING_DELAY);
      expect(await f.vault.beneficiaryShareBps()).to.equal(BENEFICIARY_SHARE_BPS);
      expect(await f.vault.owner()).to.equal(f.owner.address);
      expect(await f.vault.isAuthorised(f.module.address)).to.equal(true);
      expect(await f.vault.isAuthorised(f.outsider.address)).to.equal(false);
      expect(await f.vault.totalLiabilities()).to.equal(0n);
    });

    it("rejects bad constructor parameters", async () => {
      const { owner, treasury } = await namedSigners(["owner", "treasury"] as const);
      const factory = await ethers.getContractFactory("StakingVault");
      await expect(
        ethers.deployContract("StakingVault", [owner.address, ETH, ethers.ZeroAddress, 0n, 0n, MIN_POOL_STAKE]),
      ).to.be.revertedWithCustomError(factory, "StakingVaultZeroAddress");
      await expect(
        ethers.deployContract("StakingVault", [
          owner.address,
          ETH,
          treasury.address,
          MAX_DELAY + 1n,
          0n,
          MIN_POOL_STAKE,
        ]),
      )
        .to.be.revertedWithCustomError(factory, "StakingVaultDelayTooLong")
        .withArgs(MAX_DELAY + 1n, MAX_DELAY);
      await expect(
        ethers.deployContract("StakingVault", [owner.address, ETH, treasury.address, 0n, BPS + 1n, MIN_POOL_STAKE]),
      )
        .to.be.revertedWithCustomError(factory, "StakingVaultInvalidBps")
        .withArgs(BPS + 1n);
      // Pools without a bond would let stake-less sybils join.
      await expect(ethers.deployContract("StakingVault", [owner.address, ETH, treasury.address, 0n, 0n, 0n]))
        .to.be.revertedWithCustomError(factory, "StakingVaultZeroPoolStake")
        .withArgs(Role.Operator);
    });
  });

  describe("ETH vault", () => {
    let f: EthVault;
    beforeEach(async () => {
      f = await networkHelpers.loadFixture(deployEthVaultFixture);
    });
    afterEach(async () => {
      await expectVaultSolvent(f.vault);
    });

    async function stake(amount: bigint = ONE * 10n, who = f.staker): Promise<void> {
      await f.vault.connect(who).stake(amount, { value: amount });
    }

    describe("stake", () => {
      it("adds stake and escrows the ETH", async () => {
        const tx = f.vault.connect(f.staker).stake(ONE, { value: ONE });
        await expect(tx).to.emit(f.vault, "Staked").withArgs(f.staker.address, ONE);
        await expect(tx).to.changeEtherBalances(ethers, [f.staker, f.vault], [-ONE, ONE]);
        await f.vault.connect(f.staker).stake(2n * ONE, { value: 2n * ONE });
        const info = await f.vault.stakeOf(f.staker.address);
        expect(info.total).to.equal(3n * ONE);
        expect(info.locked).to.equal(0n);
        expect(info.unbonding).to.equal(0n);
        expect(await f.vault.freeStake(f.staker.address)).to.equal(3n * ONE);
        expect(await f.vault.totalLiabilities()).to.equal(3n * ONE);
      });

      it("reverts on zero and on a value that differs from the amount", async () => {
        await expect(f.vault.connect(f.staker).stake(0n)).to.be.revertedWithCustomError(
          f.vault,
          "StakingVaultZeroAmount",
        );
        await expect(f.vault.connect(f.staker).stake(ONE, { value: ONE - 1n }))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultWrongValue")
          .withArgs(ONE - 1n, ONE);
        await expect(f.vault.connect(f.staker).stake(ONE, { value: ONE + 1n }))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultWrongValue")
          .withArgs(ONE + 1n, ONE);
      });
    });

    describe("unbonding and withdrawal", () => {
      it("requestUnbond moves free stake to unbonding with a ready time", async () => {
        await stake();
        const now = BigInt(await time.latest()) + 10n;
        await time.setNextBlockTimestamp(now);
        await expect(f.vault.connect(f.staker).requestUnbond(4n * ONE))
          .to.emit(f.vault, "UnbondingRequested")
          .withArgs(f.staker.address, 4n * ONE, now + UNBONDING_DELAY);
        const info = await f.vault.stakeOf(f.staker.address);
        expect(info.unbonding).to.equal(4n * ONE);
        expect(info.unbondingReadyAt).to.equal(now + UNBONDING_DELAY);
        expect(info.total).to.equal(10n * ONE);
        expect(await f.vault.freeStake(f.staker.address)).to.equal(6n * ONE);
      });

      it("a second unbond request restarts the delay for everything unbonding", async () => {
        await stake();
        await f.vault.connect(f.staker).requestUnbond(ONE);
        await time.increase(3n * DAY);
        const now = BigInt(await time.latest()) + 1n;
        await time.setNextBlockTimestamp(now);
        await f.vault.connect(f.staker).requestUnbond(ONE);
        const info = await f.vault.stakeOf(f.staker.address);
        expect(info.unbonding).to.equal(2n * ONE);
        expect(info.unbondingReadyAt).to.equal(now + UNBONDING_DELAY);
      });

      it("requestUnbond reverts on zero and on more than the free stake", async () => {
        await stake(ONE);
        await expect(f.vault.connect(f.staker).requestUnbond(0n)).to.be.revertedWithCustomError(
          f.vault,
          "StakingVaultZeroAmount",
        );
        await expect(f.vault.connect(f.staker).requestUnbond(ONE + 1n))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultInsufficientFreeStake")
          .withArgs(f.staker.address, ONE + 1n, ONE);
      });

      it("locked stake cannot be unbonded", async () => {
        await stake(3n * ONE);
        await f.vault.connect(f.module).lock(LOCK_A, f.staker.address, 2n * ONE);
        await expect(f.vault.connect(f.staker).requestUnbond(2n * ONE))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultInsufficientFreeStake")
          .withArgs(f.staker.address, 2n * ONE, ONE);
        await f.vault.connect(f.staker).requestUnbond(ONE);
        // Nothing free is left.
        await expect(f.vault.connect(f.staker).requestUnbond(1n))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultInsufficientFreeStake")
          .withArgs(f.staker.address, 1n, 0n);
      });

      it("withdraw pays out unbonded stake after the delay", async () => {
        await stake();
        await f.vault.connect(f.staker).requestUnbond(4n * ONE);
        const readyAt = (await f.vault.stakeOf(f.staker.address)).unbondingReadyAt;
        await expect(f.vault.connect(f.staker).withdraw())
          .to.be.revertedWithCustomError(f.vault, "StakingVaultUnbondingNotReady")
          .withArgs(readyAt, anyValue);
        await time.setNextBlockTimestamp(readyAt - 1n);
        await expect(f.vault.connect(f.staker).withdraw())
          .to.be.revertedWithCustomError(f.vault, "StakingVaultUnbondingNotReady")
          .withArgs(readyAt, readyAt - 1n);

        await time.setNextBlockTimestamp(readyAt);
        const tx = f.vault.connect(f.staker).withdraw();
        await expect(tx)
          .to.emit(f.vault, "StakeWithdrawn")
          .withArgs(f.staker.address, 4n * ONE);
        await expect(tx).to.changeEtherBalances(ethers, [f.staker, f.vault], [4n * ONE, -4n * ONE]);
        const info = await f.vault.stakeOf(f.staker.address);
        expect(info.total).to.equal(6n * ONE);
        expect(info.unbonding).to.equal(0n);
        expect(await f.vault.totalLiabilities()).to.equal(6n * ONE);
        // Nothing left unbonding.
        await expect(f.vault.connect(f.staker).withdraw())
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNothingToWithdraw")
          .withArgs(f.staker.address);
      });

      it("withdraw reverts when nothing is unbonding", async () => {
        await stake();
        await expect(f.vault.connect(f.staker).withdraw())
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNothingToWithdraw")
          .withArgs(f.staker.address);
      });
    });

    describe("pools (service declarations)", () => {
      it("joining bonds the minimum pool stake, leaving releases it; membership is per model and role", async () => {
        await expect(f.vault.connect(f.staker).setService(1n, Role.Operator, true))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultInsufficientFreeStake")
          .withArgs(f.staker.address, MIN_POOL_STAKE, 0n);
        await stake(5n * ONE);
        await f.vault.connect(f.staker2).stake(5n * ONE, { value: 5n * ONE });
        await expect(f.vault.connect(f.staker).setService(1n, Role.Operator, true))
          .to.emit(f.vault, "ServiceChanged")
          .withArgs(f.staker.address, 1n, Role.Operator, true, MIN_POOL_STAKE);
        expect(await f.vault.freeStake(f.staker.address)).to.equal(5n * ONE - MIN_POOL_STAKE);
        expect((await f.vault.stakeOf(f.staker.address)).bonded).to.equal(MIN_POOL_STAKE);
        expect(await f.vault.poolBondOf(f.staker.address, 1n, Role.Operator)).to.equal(MIN_POOL_STAKE);
        await f.vault.connect(f.staker2).setService(1n, Role.Operator, true);
        await f.vault.connect(f.staker2).setService(1n, Role.Validator, true);

        expect(await f.vault.isServing(f.staker.address, 1n, Role.Operator)).to.equal(true);
        expect(await f.vault.isServing(f.staker.address, 1n, Role.Validator)).to.equal(false);
        expect(await f.vault.isServing(f.staker.address, 2n, Role.Operator)).to.equal(false);
        expect(await f.vault.serverCount(1n, Role.Operator)).to.equal(2n);
        expect(await f.vault.serverCount(1n, Role.Validator)).to.equal(1n);
        expect(await f.vault.serverAt(1n, Role.Operator, 0n)).to.equal(f.staker.address);
        expect(await f.vault.serverAt(1n, Role.Operator, 1n)).to.equal(f.staker2.address);
        expect(await f.vault.serverAt(1n, Role.Validator, 0n)).to.equal(f.staker2.address);

        // Joining twice (one address, one seat) or leaving a pool one is not in is refused.
        await expect(f.vault.connect(f.staker).setService(1n, Role.Operator, true))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultPoolMembership")
          .withArgs(f.staker.address, 1n, Role.Operator, true);
        // The bond cannot be unbonded while in the pool.
        await expect(f.vault.connect(f.staker).requestUnbond(5n * ONE)).to.be.revertedWithCustomError(
          f.vault,
          "StakingVaultInsufficientFreeStake",
        );

        await expect(f.vault.connect(f.staker).setService(1n, Role.Operator, false))
          .to.emit(f.vault, "ServiceChanged")
          .withArgs(f.staker.address, 1n, Role.Operator, false, MIN_POOL_STAKE);
        expect(await f.vault.freeStake(f.staker.address)).to.equal(5n * ONE);
        expect(await f.vault.isServing(f.staker.address, 1n, Role.Operator)).to.equal(false);
        expect(await f.vault.serverCount(1n, Role.Operator)).to.equal(1n);
        expect(await f.vault.serverAt(1n, Role.Operator, 0n)).to.equal(f.staker2.address);
        await expect(f.vault.connect(f.staker).setService(1n, Role.Operator, false))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultPoolMembership")
          .withArgs(f.staker.address, 1n, Role.Operator, false);
        await expect(f.vault.serverAt(1n, Role.Operator, 1n)).to.be.revertedWithCustomError(
          f.vault,
          "StakingVaultPoolMembership",
        );
      });

      it("reads back the pool exactly as it stood at the end of any past block", async () => {
        const signers = (await ethers.getSigners()).slice(8, 14);
        for (const s of signers) await f.vault.connect(s).stake(ONE, { value: ONE });
        const history: { block: bigint; members: string[] }[] = [];
        const live: string[] = [];
        const record = async () =>
          history.push({ block: BigInt(await ethers.provider.getBlockNumber()), members: [...live] });
        for (const s of signers) {
          await f.vault.connect(s).setService(7n, Role.Validator, true);
          live.push(s.address);
          await record();
        }
        // Swap-and-pop leaves: the last member moves into the hole.
        for (const leaver of [signers[1]!, signers[4]!, signers[0]!]) {
          await f.vault.connect(leaver).setService(7n, Role.Validator, false);
          const i = live.indexOf(leaver.address);
          live[i] = live[live.length - 1]!;
          live.pop();
          await record();
        }
        await f.vault.connect(signers[1]!).setService(7n, Role.Validator, true);
        live.push(signers[1]!.address);
        await record();
        for (const { block, members } of history) {
          expect(await f.vault.poolSizeAt(7n, Role.Validator, block)).to.equal(BigInt(members.length));
          for (let i = 0; i < members.length; i++) {
            expect(await f.vault.poolMemberAt(7n, Role.Validator, i, block)).to.equal(members[i]);
          }
          await expect(f.vault.poolMemberAt(7n, Role.Validator, members.length, block)).to.be.revertedWithCustomError(
            f.vault,
            "StakingVaultPoolMembership",
          );
        }
        expect(await f.vault.poolSizeAt(7n, Role.Validator, history[0]!.block - 1n)).to.equal(0n);
      });

      it("governance sets the pool bond per role; never zero", async () => {
        await expect(f.vault.connect(f.owner).setMinPoolStake(Role.Validator, 0n))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultZeroPoolStake")
          .withArgs(Role.Validator);
        await expect(f.vault.connect(f.owner).setMinPoolStake(Role.Validator, 2n * ONE))
          .to.emit(f.vault, "MinPoolStakeSet")
          .withArgs(Role.Validator, 2n * ONE);
        expect(await f.vault.minPoolStake(Role.Validator)).to.equal(2n * ONE);
        await expect(f.vault.connect(f.staker).setMinPoolStake(Role.Operator, 1n)).to.be.revertedWithCustomError(
          f.vault,
          "OwnableUnauthorizedAccount",
        );
      });
    });

    describe("locks", () => {
      it("lock reserves free stake under an id owned by the caller", async () => {
        await stake(5n * ONE);
        await expect(f.vault.connect(f.module).lock(LOCK_A, f.staker.address, 2n * ONE))
          .to.emit(f.vault, "StakeLocked")
          .withArgs(LOCK_A, f.staker.address, f.module.address, 2n * ONE);
        const held = await f.vault.getLock(LOCK_A);
        expect(held.staker).to.equal(f.staker.address);
        expect(held.owner).to.equal(f.module.address);
        expect(held.amount).to.equal(2n * ONE);
        expect((await f.vault.stakeOf(f.staker.address)).locked).to.equal(2n * ONE);
        expect(await f.vault.freeStake(f.staker.address)).to.equal(3n * ONE);
        expect((await f.vault.getLock(LOCK_B)).staker).to.equal(ethers.ZeroAddress);
      });

      it("lock reverts for unauthorised callers, reused ids, zero stakers and too little free stake", async () => {
        await stake(2n * ONE);
        await expect(f.vault.connect(f.outsider).lock(LOCK_A, f.staker.address, ONE))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNotAuthorised")
          .withArgs(f.outsider.address);
        await expect(f.vault.connect(f.module).lock(LOCK_A, ethers.ZeroAddress, 0n)).to.be.revertedWithCustomError(
          f.vault,
          "StakingVaultZeroAddress",
        );
        await expect(f.vault.connect(f.module).lock(LOCK_A, f.staker.address, 2n * ONE + 1n))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultInsufficientFreeStake")
          .withArgs(f.staker.address, 2n * ONE + 1n, 2n * ONE);
        await f.vault.connect(f.module).lock(LOCK_A, f.staker.address, ONE);
        await expect(f.vault.connect(f.module2).lock(LOCK_A, f.staker.address, ONE))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultLockExists")
          .withArgs(LOCK_A);
        // Unbonding stake is not free either.
        await f.vault.connect(f.staker).requestUnbond(ONE);
        await expect(f.vault.connect(f.module).lock(LOCK_B, f.staker.address, 1n))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultInsufficientFreeStake")
          .withArgs(f.staker.address, 1n, 0n);
      });

      it("lockDuty locks free stake first, then the member's pool bond, and never reverts for want of stake", async () => {
        await stake(ONE);
        await f.vault.connect(f.staker).setService(1n, Role.Validator, true);
        const free = ONE - MIN_POOL_STAKE;
        // Enough free stake: the bond is untouched.
        await expect(f.vault.connect(f.module).lockDuty(LOCK_A, f.staker.address, 1n, Role.Validator, free / 2n))
          .to.emit(f.vault, "StakeLocked")
          .withArgs(LOCK_A, f.staker.address, f.module.address, free / 2n);
        expect(await f.vault.poolBondOf(f.staker.address, 1n, Role.Validator)).to.equal(MIN_POOL_STAKE);
        // Not enough: the rest of the free stake, then the bond, then nothing more.
        const rest = free - free / 2n;
        await expect(f.vault.connect(f.module).lockDuty(LOCK_B, f.staker.address, 1n, Role.Validator, 2n * ONE))
          .to.emit(f.vault, "PoolBondLocked")
          .withArgs(f.staker.address, 1n, Role.Validator, MIN_POOL_STAKE)
          .and.to.emit(f.vault, "StakeLocked")
          .withArgs(LOCK_B, f.staker.address, f.module.address, rest + MIN_POOL_STAKE);
        const info = await f.vault.stakeOf(f.staker.address);
        expect([info.locked, info.bonded, await f.vault.freeStake(f.staker.address)]).to.deep.equal([ONE, 0n, 0n]);
        expect(await f.vault.isServing(f.staker.address, 1n, Role.Validator), "still a member").to.equal(true);
        expect(await f.vault.isPoolEligible(f.staker.address, 1n, Role.Validator), "a lent bond counts").to.equal(true);
        // Nothing left: an empty lock, still a lock (it can be released, and slashed for nothing).
        const LOCK_C = ethers.id("lock-c");
        await f.vault.connect(f.module).lockDuty(LOCK_C, f.staker.address, 1n, Role.Validator, ONE);
        expect((await f.vault.getLock(LOCK_C)).amount).to.equal(0n);
        await expect(f.vault.connect(f.module).slash(LOCK_C, 1n, f.treasury.address))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultSlashExceedsLock")
          .withArgs(LOCK_C, 1n, 0n);
        await f.vault.connect(f.module).unlock(LOCK_C);
        // Released, a duty lock refills the bond first (less what was slashed), the rest is free again.
        await f.vault.connect(f.module).slash(LOCK_B, rest, f.treasury.address);
        await expect(f.vault.connect(f.module).unlock(LOCK_B))
          .to.emit(f.vault, "PoolBondRestored")
          .withArgs(f.staker.address, 1n, Role.Validator, MIN_POOL_STAKE);
        expect(await f.vault.poolBondOf(f.staker.address, 1n, Role.Validator)).to.equal(MIN_POOL_STAKE);
        expect(await f.vault.freeStake(f.staker.address)).to.equal(0n);
        expect(
          await f.vault.isPoolEligible(f.staker.address, 1n, Role.Validator),
          "the slash spared the bond",
        ).to.equal(true);
        // A member that left while its bond was lent gets the loan back as free stake.
        await f.vault.connect(f.module).lockDuty(LOCK_B, f.staker.address, 1n, Role.Validator, ONE);
        await expect(f.vault.connect(f.staker).setService(1n, Role.Validator, false))
          .to.emit(f.vault, "ServiceChanged")
          .withArgs(f.staker.address, 1n, Role.Validator, false, 0n);
        await f.vault.connect(f.module).unlock(LOCK_B);
        expect(await f.vault.freeStake(f.staker.address)).to.equal(MIN_POOL_STAKE);
        expect((await f.vault.stakeOf(f.staker.address)).bonded).to.equal(0n);
        await expect(f.vault.connect(f.outsider).lockDuty(LOCK_C, f.staker.address, 1n, Role.Validator, 1n))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNotAuthorised")
          .withArgs(f.outsider.address);
        await expect(f.vault.connect(f.module).lockDuty(LOCK_A, f.staker.address, 1n, Role.Validator, 1n))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultLockExists")
          .withArgs(LOCK_A);
      });

      it("unlock releases the lock back to free stake", async () => {
        await stake(5n * ONE);
        await f.vault.connect(f.module).lock(LOCK_A, f.staker.address, 2n * ONE);
        expect(await f.vault.connect(f.module).unlock.staticCall(LOCK_A)).to.equal(2n * ONE);
        await expect(f.vault.connect(f.module).unlock(LOCK_A))
          .to.emit(f.vault, "StakeUnlocked")
          .withArgs(LOCK_A, f.staker.address, 2n * ONE);
        expect((await f.vault.getLock(LOCK_A)).staker).to.equal(ethers.ZeroAddress);
        expect(await f.vault.freeStake(f.staker.address)).to.equal(5n * ONE);
        // The id can be reused once released.
        await f.vault.connect(f.module2).lock(LOCK_A, f.staker.address, ONE);
        expect((await f.vault.getLock(LOCK_A)).owner).to.equal(f.module2.address);
      });

      it("unlock reverts for unknown locks and for callers that do not own the lock", async () => {
        await stake(5n * ONE);
        await expect(f.vault.connect(f.module).unlock(LOCK_A))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultUnknownLock")
          .withArgs(LOCK_A);
        await f.vault.connect(f.module).lock(LOCK_A, f.staker.address, ONE);
        await expect(f.vault.connect(f.module2).unlock(LOCK_A))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNotLockOwner")
          .withArgs(LOCK_A, f.module2.address);
        await expect(f.vault.connect(f.staker).unlock(LOCK_A))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNotLockOwner")
          .withArgs(LOCK_A, f.staker.address);
      });

      it("a deauthorised lock owner can still release but no longer slash", async () => {
        await stake(5n * ONE);
        await f.vault.connect(f.module).lock(LOCK_A, f.staker.address, ONE);
        await f.vault.connect(f.owner).setAuthorised(f.module.address, false);
        await expect(f.vault.connect(f.module).slash(LOCK_A, 1n, f.beneficiary.address))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNotAuthorised")
          .withArgs(f.module.address);
        await expect(f.vault.connect(f.module).unlock(LOCK_A))
          .to.emit(f.vault, "StakeUnlocked")
          .withArgs(LOCK_A, f.staker.address, ONE);
      });
    });

    describe("slashing", () => {
      beforeEach(async () => {
        await stake(5n * ONE);
        await f.vault.connect(f.module).lock(LOCK_A, f.staker.address, 2n * ONE);
      });

      it("slash takes locked stake and splits it between beneficiary and treasury", async () => {
        const amount = ONE;
        const share = (amount * BENEFICIARY_SHARE_BPS) / BPS;
        await expect(f.vault.connect(f.module).slash(LOCK_A, amount, f.beneficiary.address))
          .to.emit(f.vault, "StakeSlashed")
          .withArgs(LOCK_A, f.staker.address, f.beneficiary.address, amount, share);
        const info = await f.vault.stakeOf(f.staker.address);
        expect(info.total).to.equal(4n * ONE);
        expect(info.locked).to.equal(ONE);
        expect((await f.vault.getLock(LOCK_A)).amount).to.equal(ONE);
        expect(await f.vault.slashProceedsOf(f.beneficiary.address)).to.equal(share);
        expect(await f.vault.slashProceedsOf(f.treasury.address)).to.equal(amount - share);
        // Slashed stake moves from the staker to the proceeds: liabilities do not change.
        expect(await f.vault.totalLiabilities()).to.equal(5n * ONE);

        // The rest of the lock can be slashed, then the emptied lock released.
        await f.vault.connect(f.module).slash(LOCK_A, ONE, f.beneficiary.address);
        await expect(f.vault.connect(f.module).unlock(LOCK_A))
          .to.emit(f.vault, "StakeUnlocked")
          .withArgs(LOCK_A, f.staker.address, 0n);
        expect(await f.vault.freeStake(f.staker.address)).to.equal(3n * ONE);
      });

      it("rounds the beneficiary share down in favour of the treasury", async () => {
        await f.vault.connect(f.module).slash(LOCK_A, 3n, f.beneficiary.address);
        expect(await f.vault.slashProceedsOf(f.beneficiary.address)).to.equal(1n);
        expect(await f.vault.slashProceedsOf(f.treasury.address)).to.equal(2n);
      });

      it("slash by a non-module reverts StakingVaultNotAuthorised", async () => {
        await expect(f.vault.connect(f.outsider).slash(LOCK_A, ONE, f.outsider.address))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNotAuthorised")
          .withArgs(f.outsider.address);
        await expect(f.vault.connect(f.staker).slash(LOCK_A, ONE, f.staker.address))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNotAuthorised")
          .withArgs(f.staker.address);
      });

      it("slash reverts for unknown locks, other owners, zero beneficiaries and more than the lock", async () => {
        await expect(f.vault.connect(f.module).slash(LOCK_B, 1n, f.beneficiary.address))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultUnknownLock")
          .withArgs(LOCK_B);
        await expect(f.vault.connect(f.module2).slash(LOCK_A, 1n, f.beneficiary.address))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNotLockOwner")
          .withArgs(LOCK_A, f.module2.address);
        await expect(f.vault.connect(f.module).slash(LOCK_A, 1n, ethers.ZeroAddress)).to.be.revertedWithCustomError(
          f.vault,
          "StakingVaultZeroAddress",
        );
        await expect(f.vault.connect(f.module).slash(LOCK_A, 2n * ONE + 1n, f.beneficiary.address))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultSlashExceedsLock")
          .withArgs(LOCK_A, 2n * ONE + 1n, 2n * ONE);
        // Free stake outside the lock is out of reach.
        await f.vault.connect(f.module).slash(LOCK_A, ONE, f.beneficiary.address);
        await expect(f.vault.connect(f.module).slash(LOCK_A, ONE + 1n, f.beneficiary.address))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultSlashExceedsLock")
          .withArgs(LOCK_A, ONE + 1n, ONE);
      });

      it("withdrawSlashProceeds pays beneficiary and treasury", async () => {
        await f.vault.connect(f.module).slash(LOCK_A, 2n * ONE, f.beneficiary.address);
        const tx = f.vault.connect(f.beneficiary).withdrawSlashProceeds();
        await expect(tx).to.emit(f.vault, "SlashProceedsWithdrawn").withArgs(f.beneficiary.address, ONE);
        await expect(tx).to.changeEtherBalances(ethers, [f.beneficiary, f.vault], [ONE, -ONE]);
        expect(await f.vault.slashProceedsOf(f.beneficiary.address)).to.equal(0n);
        await expect(f.vault.connect(f.treasury).withdrawSlashProceeds()).to.changeEtherBalance(
          ethers,
          f.treasury,
          ONE,
        );
        expect(await f.vault.totalLiabilities()).to.equal(3n * ONE);
        await expect(f.vault.connect(f.beneficiary).withdrawSlashProceeds())
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNothingToWithdraw")
          .withArgs(f.beneficiary.address);
      });
    });

    describe("governance", () => {
      it("setAuthorised grants and revokes lock rights", async () => {
        await expect(f.vault.connect(f.owner).setAuthorised(f.outsider.address, true))
          .to.emit(f.vault, "AuthorisationChanged")
          .withArgs(f.outsider.address, true);
        expect(await f.vault.isAuthorised(f.outsider.address)).to.equal(true);
        await stake(ONE);
        await f.vault.connect(f.outsider).lock(LOCK_A, f.staker.address, ONE);
        await expect(f.vault.connect(f.owner).setAuthorised(f.outsider.address, false))
          .to.emit(f.vault, "AuthorisationChanged")
          .withArgs(f.outsider.address, false);
        expect(await f.vault.isAuthorised(f.outsider.address)).to.equal(false);
        await expect(f.vault.connect(f.outsider).lock(LOCK_B, f.staker.address, 0n))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultNotAuthorised")
          .withArgs(f.outsider.address);
        await expect(f.vault.connect(f.owner).setAuthorised(ethers.ZeroAddress, true)).to.be.revertedWithCustomError(
          f.vault,
          "StakingVaultZeroAddress",
        );
      });

      it("setUnbondingDelay applies to later unbond requests and is bounded", async () => {
        await expect(f.vault.connect(f.owner).setUnbondingDelay(DAY))
          .to.emit(f.vault, "UnbondingDelaySet")
          .withArgs(DAY);
        expect(await f.vault.unbondingDelay()).to.equal(DAY);
        await stake(ONE);
        await f.vault.connect(f.staker).requestUnbond(ONE);
        expect((await f.vault.stakeOf(f.staker.address)).unbondingReadyAt).to.equal(BigInt(await time.latest()) + DAY);
        await f.vault.connect(f.owner).setUnbondingDelay(MAX_DELAY);
        expect(await f.vault.unbondingDelay()).to.equal(MAX_DELAY);
        await expect(f.vault.connect(f.owner).setUnbondingDelay(MAX_DELAY + 1n))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultDelayTooLong")
          .withArgs(MAX_DELAY + 1n, MAX_DELAY);
      });

      it("setTreasury redirects the treasury share of later slashes", async () => {
        await expect(f.vault.connect(f.owner).setTreasury(f.outsider.address))
          .to.emit(f.vault, "TreasurySet")
          .withArgs(f.outsider.address);
        expect(await f.vault.treasury()).to.equal(f.outsider.address);
        await stake(ONE);
        await f.vault.connect(f.module).lock(LOCK_A, f.staker.address, ONE);
        await f.vault.connect(f.module).slash(LOCK_A, 10n, f.beneficiary.address);
        expect(await f.vault.slashProceedsOf(f.outsider.address)).to.equal(5n);
        expect(await f.vault.slashProceedsOf(f.treasury.address)).to.equal(0n);
        await expect(f.vault.connect(f.owner).setTreasury(ethers.ZeroAddress)).to.be.revertedWithCustomError(
          f.vault,
          "StakingVaultZeroAddress",
        );
      });

      it("setBeneficiaryShareBps changes the split and is bounded", async () => {
        await expect(f.vault.connect(f.owner).setBeneficiaryShareBps(10_000))
          .to.emit(f.vault, "BeneficiaryShareSet")
          .withArgs(10_000);
        expect(await f.vault.beneficiaryShareBps()).to.equal(10_000n);
        await stake(ONE);
        await f.vault.connect(f.module).lock(LOCK_A, f.staker.address, ONE);
        await f.vault.connect(f.module).slash(LOCK_A, 10n, f.beneficiary.address);
        expect(await f.vault.slashProceedsOf(f.beneficiary.address)).to.equal(10n);
        expect(await f.vault.slashProceedsOf(f.treasury.address)).to.equal(0n);
        await expect(f.vault.connect(f.owner).setBeneficiaryShareBps(10_001))
          .to.be.revertedWithCustomError(f.vault, "StakingVaultInvalidBps")
          .withArgs(10_001);
      });

      it("governance setters are owner-only", async () => {
        const v = f.vault.connect(f.outsider);
        const calls = [
          () => v.setAuthorised(f.outsider.address, true),
          () => v.setUnbondingDelay(0n),
          () => v.setTreasury(f.outsider.address),
          () => v.setBeneficiaryShareBps(0),
          () => v.transferOwnership(f.outsider.address),
        ];
        for (const call of calls) {
          await expect(call())
            .to.be.revertedWithCustomError(f.vault, "OwnableUnauthorizedAccount")
            .withArgs(f.outsider.address);
        }
      });

      it("ownership moves in two steps", async () => {
        await expect(f.vault.connect(f.owner).transferOwnership(f.outsider.address))
          .to.emit(f.vault, "OwnershipTransferStarted")
          .withArgs(f.owner.address, f.outsider.address);
        expect(await f.vault.pendingOwner()).to.equal(f.outsider.address);
        await expect(f.vault.connect(f.outsider).acceptOwnership())
          .to.emit(f.vault, "OwnershipTransferred")
          .withArgs(f.owner.address, f.outsider.address);
        expect(await f.vault.owner()).to.equal(f.outsider.address);
        await f.vault.connect(f.outsider).setUnbondingDelay(0n);
        expect(await f.vault.unbondingDelay()).to.equal(0n);
      });
    });
  });

  describe("ERC-20 vault", () => {
    let f: TokenVault;
    beforeEach(async () => {
      f = await networkHelpers.loadFixture(deployTokenVaultFixture);
    });
    afterEach(async () => {
      await expectVaultSolvent(f.vault, f.token);
    });

    it("stakes, slashes and withdraws the token", async () => {
      expect(await f.vault.asset()).to.equal(await f.token.getAddress());
      const tx = f.vault.connect(f.staker).stake(10n * ONE);
      await expect(tx)
        .to.emit(f.vault, "Staked")
        .withArgs(f.staker.address, 10n * ONE);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.staker, f.vault], [-10n * ONE, 10n * ONE]);
      expect(await f.vault.totalLiabilities()).to.equal(10n * ONE);

      await f.vault.connect(f.module).lock(LOCK_A, f.staker.address, 4n * ONE);
      await f.vault.connect(f.module).slash(LOCK_A, 2n * ONE, f.beneficiary.address);
      await f.vault.connect(f.module).unlock(LOCK_A);
      await expect(f.vault.connect(f.beneficiary).withdrawSlashProceeds()).to.changeTokenBalances(
        ethers,
        f.token,
        [f.beneficiary, f.vault],
        [ONE, -ONE],
      );
      await expect(f.vault.connect(f.treasury).withdrawSlashProceeds()).to.changeTokenBalance(
        ethers,
        f.token,
        f.treasury,
        ONE,
      );

      await f.vault.connect(f.staker).requestUnbond(8n * ONE);
      await time.increase(UNBONDING_DELAY);
      const out = f.vault.connect(f.staker).withdraw();
      await expect(out)
        .to.emit(f.vault, "StakeWithdrawn")
        .withArgs(f.staker.address, 8n * ONE);
      await expect(out).to.changeTokenBalances(ethers, f.token, [f.staker, f.vault], [8n * ONE, -8n * ONE]);
      expect((await f.vault.stakeOf(f.staker.address)).total).to.equal(0n);
      expect(await f.vault.totalLiabilities()).to.equal(0n);
      expect(await f.token.balanceOf(await f.vault.getAddress())).to.equal(0n);
    });

    it("rejects ETH sent with a token stake", async () => {
      await expect(f.vault.connect(f.staker).stake(ONE, { value: 1n }))
        .to.be.revertedWithCustomError(f.vault, "StakingVaultWrongValue")
        .withArgs(1n, 0n);
    });

    it("reverts when the staker has not approved enough", async () => {
      await f.token.connect(f.staker).approve(await f.vault.getAddress(), ONE - 1n);
      await expect(f.vault.connect(f.staker).stake(ONE)).to.be.revertedWithCustomError(
        f.token,
        "ERC20InsufficientAllowance",
      );
      expect((await f.vault.stakeOf(f.staker.address)).total).to.equal(0n);
    });
  });

  describe("ERC-20 vault with a token that moves a different amount", () => {
    // A ReentrantToken whose "market" is itself: on the vault's transferFrom it also transfers some of its
    // own balance to the vault, so the vault receives more than asked (any non-standard amount is refused).
    async function oddTokenVaultFixture() {
      const { owner, treasury, staker } = await namedSigners(["owner", "treasury", "staker"] as const);
      const nonce = await owner.getNonce();
      const predicted = ethers.getCreateAddress({ from: owner.address, nonce });
      const token: ReentrantToken = await ethers.deployContract("ReentrantToken", [predicted], owner);
      expect(await token.getAddress()).to.equal(predicted);
      const vault: StakingVault = await ethers.deployContract("StakingVault", [
        owner.address,
        predicted,
        treasury.address,
        UNBONDING_DELAY,
        BENEFICIARY_SHARE_BPS,
        MIN_POOL_STAKE,
      ]);
      await token.mint(staker.address, 100n * ONE);
      await token.mint(predicted, 5n);
      await token.connect(staker).approve(await vault.getAddress(), ethers.MaxUint256);
      return { staker, token, vault };
    }

    it("stake reverts StakingVaultTransferMismatch", async () => {
      const { staker, token, vault } = await networkHelpers.loadFixture(oddTokenVaultFixture);
      await token.arm(token.interface.encodeFunctionData("transfer", [await vault.getAddress(), 5n]));
      await expect(vault.connect(staker).stake(ONE))
        .to.be.revertedWithCustomError(vault, "StakingVaultTransferMismatch")
        .withArgs(ONE, ONE + 5n);
      expect(await vault.totalLiabilities()).to.equal(0n);
      // The failed stake rolled back the disarm; re-armed with a harmless (failing) call it stakes normally.
      await token.arm("0x");
      await vault.connect(staker).stake(ONE);
      expect((await vault.stakeOf(staker.address)).total).to.equal(ONE);
      expect(await token.balanceOf(await vault.getAddress())).to.equal(ONE);
    });
  });
});
