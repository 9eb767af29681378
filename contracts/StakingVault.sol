// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {IStakingVault} from "./interfaces/IStakingVault.sol";

/// @title StakingVault
/// @notice Stakes of operators and validators in one asset (ETH when `asset` is address(0), else an
/// ERC-20), with per-duty locks that only authorised contracts can release or slash.
contract StakingVault is IStakingVault, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    /// @dev A pool of one model and role: a dense array (swap-and-pop) whose length and every slot are
    /// checkpointed by block number, so any past state can be read back exactly.
    struct Pool {
        Checkpoints.Trace208 size;
        mapping(uint256 index => Checkpoints.Trace208) slots;
        mapping(address staker => uint256) indexPlusOne;
        mapping(address staker => uint256) bond;
        /// Bond a member joined with, and what of it duty locks currently hold (this membership only).
        mapping(address staker => uint256) joinedBond;
        mapping(address staker => uint256) lent;
        /// Memberships so far: a loan refills only the membership it was taken from.
        mapping(address staker => uint64) epoch;
    }

    /// @dev Part of a duty lock lent by a pool bond; it refills the bond when the lock is released.
    struct BondLoan {
        uint256 modelId;
        Role role;
        uint64 epoch;
        uint256 amount;
    }

    uint16 private constant _BPS = 10_000;
    uint64 private constant _MAX_UNBONDING_DELAY = 365 days;

    address private immutable _asset;

    mapping(address staker => StakeInfo) private _stakes;
    mapping(bytes32 lockId => Lock) private _locks;
    mapping(bytes32 lockId => BondLoan) private _bondLoans;
    mapping(uint256 modelId => mapping(Role role => Pool)) private _pools;
    mapping(Role role => uint256) private _minPoolStake;
    mapping(address account => uint256) private _slashProceeds;
    mapping(address account => bool) private _authorised;

    uint256 private _totalLiabilities;
    uint64 private _unbondingDelay;
    uint16 private _beneficiaryShareBps;
    address private _treasury;

    constructor(
        address initialOwner,
        address asset_,
        address treasury_,
        uint64 unbondingDelay_,
        uint16 beneficiaryShareBps_,
        uint256 minPoolStake_
    ) Ownable(initialOwner) {
        _asset = asset_;
        _setTreasury(treasury_);
        _setUnbondingDelay(unbondingDelay_);
        _setBeneficiaryShareBps(beneficiaryShareBps_);
        _setMinPoolStake(Role.Operator, minPoolStake_);
        _setMinPoolStake(Role.Validator, minPoolStake_);
    }

    modifier onlyAuthorised() {
        // INVARIANT: only governance-authorised markets and modules lock, release or slash stake.
        if (!_authorised[msg.sender]) revert StakingVaultNotAuthorised(msg.sender);
        _;
    }

    /// @inheritdoc IStakingVault
    function stake(uint256 amount) external payable nonReentrant {
        if (amount == 0) revert StakingVaultZeroAmount();
        _stakes[msg.sender].total += amount;
        _totalLiabilities += amount;
        emit Staked(msg.sender, amount);
        _pullAsset(amount);
    }

    /// @inheritdoc IStakingVault
    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert StakingVaultZeroAmount();
        uint256 free = freeStake(msg.sender);
        // INVARIANT: locked stake can never start unbonding, so a slash always finds it.
        if (amount > free) revert StakingVaultInsufficientFreeStake(msg.sender, amount, free);
        StakeInfo storage info = _stakes[msg.sender];
        info.unbonding += amount;
        uint64 readyAt = uint64(block.timestamp) + _unbondingDelay;
        info.unbondingReadyAt = readyAt;
        emit UnbondingRequested(msg.sender, amount, readyAt);
    }

    /// @inheritdoc IStakingVault
    function withdraw() external nonReentrant {
        StakeInfo storage info = _stakes[msg.sender];
        uint256 amount = info.unbonding;
        if (amount == 0) revert StakingVaultNothingToWithdraw(msg.sender);
        if (block.timestamp < info.unbondingReadyAt) {
            revert StakingVaultUnbondingNotReady(info.unbondingReadyAt, block.timestamp);
        }
        info.unbonding = 0;
        info.total -= amount;
        _totalLiabilities -= amount;
        emit StakeWithdrawn(msg.sender, amount);
        _pushAsset(msg.sender, amount);
    }

    /// @inheritdoc IStakingVault
    function setService(uint256 modelId, Role role, bool serving) external {
        Pool storage pool = _pools[modelId][role];
        bool member = pool.indexPlusOne[msg.sender] != 0;
        if (member == serving) revert StakingVaultPoolMembership(msg.sender, modelId, role, member);
        StakeInfo storage info = _stakes[msg.sender];
        uint48 blockNumber = uint48(block.number);
        uint256 size = pool.size.latest();
        if (serving) {
            uint256 bond = _minPoolStake[role];
            uint256 free = freeStake(msg.sender);
            // INVARIANT: every pool member joins with bonded stake, so sybil members cost their owner capital
            // (duties it is drawn for may later lock part of the bond: it is then at risk, not gone).
            if (bond > free) revert StakingVaultInsufficientFreeStake(msg.sender, bond, free);
            info.bonded += bond;
            pool.bond[msg.sender] = bond;
            pool.joinedBond[msg.sender] = bond;
            pool.lent[msg.sender] = 0;
            pool.epoch[msg.sender] += 1;
            pool.slots[size].push(blockNumber, uint208(uint160(msg.sender)));
            pool.size.push(blockNumber, uint208(size + 1));
            pool.indexPlusOne[msg.sender] = size + 1;
            emit ServiceChanged(msg.sender, modelId, role, true, bond);
            return;
        }
        uint256 index = pool.indexPlusOne[msg.sender] - 1;
        uint256 last = size - 1;
        if (index != last) {
            uint208 moved = pool.slots[last].latest();
            pool.slots[index].push(blockNumber, moved);
            pool.indexPlusOne[address(uint160(moved))] = index + 1;
        }
        pool.size.push(blockNumber, uint208(last));
        pool.indexPlusOne[msg.sender] = 0;
        uint256 released = pool.bond[msg.sender];
        pool.bond[msg.sender] = 0;
        info.bonded -= released;
        emit ServiceChanged(msg.sender, modelId, role, false, released);
    }

    /// @inheritdoc IStakingVault
    function lock(bytes32 lockId, address staker, uint256 amount) external onlyAuthorised {
        if (_locks[lockId].staker != address(0)) revert StakingVaultLockExists(lockId);
        if (staker == address(0)) revert StakingVaultZeroAddress();
        uint256 free = freeStake(staker);
        if (amount > free) revert StakingVaultInsufficientFreeStake(staker, amount, free);
        _locks[lockId] = Lock({staker: staker, owner: msg.sender, amount: amount});
        _stakes[staker].locked += amount;
        emit StakeLocked(lockId, staker, msg.sender, amount);
    }

    /// @inheritdoc IStakingVault
    function lockDuty(
        bytes32 lockId,
        address staker,
        uint256 modelId,
        Role role,
        uint256 amount
    ) external onlyAuthorised returns (uint256 locked) {
        if (_locks[lockId].staker != address(0)) revert StakingVaultLockExists(lockId);
        if (staker == address(0)) revert StakingVaultZeroAddress();
        uint256 free = freeStake(staker);
        uint256 fromFree = amount < free ? amount : free;
        Pool storage pool = _pools[modelId][role];
        uint256 bond = pool.bond[staker];
        uint256 fromBond = amount - fromFree < bond ? amount - fromFree : bond;
        StakeInfo storage info = _stakes[staker];
        if (fromBond > 0) {
            pool.bond[staker] = bond - fromBond;
            info.bonded -= fromBond;
            pool.lent[staker] += fromBond;
            _bondLoans[lockId] = BondLoan({modelId: modelId, role: role, epoch: pool.epoch[staker], amount: fromBond});
            emit PoolBondLocked(staker, modelId, role, fromBond);
        }
        locked = fromFree + fromBond;
        _locks[lockId] = Lock({staker: staker, owner: msg.sender, amount: locked});
        info.locked += locked;
        emit StakeLocked(lockId, staker, msg.sender, locked);
    }

    /// @inheritdoc IStakingVault
    function unlock(bytes32 lockId) external returns (uint256 released) {
        Lock storage held = _requireOwnedLock(lockId);
        address staker = held.staker;
        released = held.amount;
        StakeInfo storage info = _stakes[staker];
        info.locked -= released;
        delete _locks[lockId];
        BondLoan storage loan = _bondLoans[lockId];
        if (loan.amount > 0) {
            // What the bond lent comes back to it first (slashes took from the lock as a whole), so a
            // member's exposure does not drain away across duties; a member that left gets it back free.
            Pool storage pool = _pools[loan.modelId][loan.role];
            uint256 back = loan.amount < released ? loan.amount : released;
            bool sameMembership = pool.indexPlusOne[staker] != 0 && pool.epoch[staker] == loan.epoch;
            if (sameMembership) {
                // A slash that reached the bond leaves it short for good: the member is then no longer
                // eligible for draws (isPoolEligible) until it rejoins with a full bond.
                pool.lent[staker] -= loan.amount;
                if (back > 0) {
                    pool.bond[staker] += back;
                    info.bonded += back;
                    emit PoolBondRestored(staker, loan.modelId, loan.role, back);
                }
            }
            delete _bondLoans[lockId];
        }
        emit StakeUnlocked(lockId, staker, released);
    }

    /// @inheritdoc IStakingVault
    function slash(bytes32 lockId, uint256 amount, address beneficiary) external onlyAuthorised {
        Lock storage held = _requireOwnedLock(lockId);
        // INVARIANT: a slash never takes more than its lock holds.
        if (amount > held.amount) revert StakingVaultSlashExceedsLock(lockId, amount, held.amount);
        if (beneficiary == address(0)) revert StakingVaultZeroAddress();
        address staker = held.staker;
        held.amount -= amount;
        StakeInfo storage info = _stakes[staker];
        info.locked -= amount;
        info.total -= amount;
        uint256 beneficiaryAmount = (amount * _beneficiaryShareBps) / _BPS;
        _slashProceeds[beneficiary] += beneficiaryAmount;
        _slashProceeds[_treasury] += amount - beneficiaryAmount;
        // Liabilities are unchanged: slashed stake moves from the staker to the proceeds.
        emit StakeSlashed(lockId, staker, beneficiary, amount, beneficiaryAmount);
    }

    /// @inheritdoc IStakingVault
    function withdrawSlashProceeds() external nonReentrant {
        uint256 amount = _slashProceeds[msg.sender];
        if (amount == 0) revert StakingVaultNothingToWithdraw(msg.sender);
        _slashProceeds[msg.sender] = 0;
        _totalLiabilities -= amount;
        emit SlashProceedsWithdrawn(msg.sender, amount);
        _pushAsset(msg.sender, amount);
    }

    /// @inheritdoc IStakingVault
    function setAuthorised(address account, bool authorised) external onlyOwner {
        if (account == address(0)) revert StakingVaultZeroAddress();
        _authorised[account] = authorised;
        emit AuthorisationChanged(account, authorised);
    }

    /// @inheritdoc IStakingVault
    function setUnbondingDelay(uint64 delay) external onlyOwner {
        _setUnbondingDelay(delay);
    }

    /// @inheritdoc IStakingVault
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @inheritdoc IStakingVault
    function setBeneficiaryShareBps(uint16 bps) external onlyOwner {
        _setBeneficiaryShareBps(bps);
    }

    /// @inheritdoc IStakingVault
    function setMinPoolStake(Role role, uint256 amount) external onlyOwner {
        _setMinPoolStake(role, amount);
    }

    /// @inheritdoc IStakingVault
    function asset() external view returns (address) {
        return _asset;
    }

    /// @inheritdoc IStakingVault
    function stakeOf(address staker) external view returns (StakeInfo memory) {
        return _stakes[staker];
    }

    /// @inheritdoc IStakingVault
    function freeStake(address staker) public view returns (uint256) {
        StakeInfo storage info = _stakes[staker];
        return info.total - info.locked - info.unbonding - info.bonded;
    }

    /// @inheritdoc IStakingVault
    function getLock(bytes32 lockId) external view returns (Lock memory) {
        return _locks[lockId];
    }

    /// @inheritdoc IStakingVault
    function isServing(address staker, uint256 modelId, Role role) external view returns (bool) {
        return _pools[modelId][role].indexPlusOne[staker] != 0;
    }

    /// @inheritdoc IStakingVault
    function isPoolEligible(address staker, uint256 modelId, Role role) external view returns (bool) {
        Pool storage pool = _pools[modelId][role];
        // INVARIANT: only the member's own conduct (leaving, or a slash that reached its bond) unseats it;
        // duties others cause only lend the bond out, which still counts.
        return pool.indexPlusOne[staker] != 0 && pool.bond[staker] + pool.lent[staker] >= pool.joinedBond[staker];
    }

    /// @inheritdoc IStakingVault
    function serverCount(uint256 modelId, Role role) external view returns (uint256) {
        return _pools[modelId][role].size.latest();
    }

    /// @inheritdoc IStakingVault
    function serverAt(uint256 modelId, Role role, uint256 index) external view returns (address) {
        Pool storage pool = _pools[modelId][role];
        if (index >= pool.size.latest()) revert StakingVaultPoolMembership(address(0), modelId, role, false);
        return address(uint160(pool.slots[index].latest()));
    }

    /// @inheritdoc IStakingVault
    function poolSizeAt(uint256 modelId, Role role, uint256 blockNumber) external view returns (uint256) {
        return _pools[modelId][role].size.upperLookupRecent(uint48(blockNumber));
    }

    /// @inheritdoc IStakingVault
    function poolMemberAt(
        uint256 modelId,
        Role role,
        uint256 index,
        uint256 blockNumber
    ) external view returns (address) {
        Pool storage pool = _pools[modelId][role];
        uint48 key = uint48(blockNumber);
        if (index >= pool.size.upperLookupRecent(key))
            revert StakingVaultPoolMembership(address(0), modelId, role, false);
        return address(uint160(pool.slots[index].upperLookupRecent(key)));
    }

    /// @inheritdoc IStakingVault
    function minPoolStake(Role role) external view returns (uint256) {
        return _minPoolStake[role];
    }

    /// @inheritdoc IStakingVault
    function poolBondOf(address staker, uint256 modelId, Role role) external view returns (uint256) {
        return _pools[modelId][role].bond[staker];
    }

    /// @inheritdoc IStakingVault
    function slashProceedsOf(address account) external view returns (uint256) {
        return _slashProceeds[account];
    }

    /// @inheritdoc IStakingVault
    function isAuthorised(address account) external view returns (bool) {
        return _authorised[account];
    }

    /// @inheritdoc IStakingVault
    function totalLiabilities() external view returns (uint256) {
        return _totalLiabilities;
    }

    /// @inheritdoc IStakingVault
    function unbondingDelay() external view returns (uint64) {
        return _unbondingDelay;
    }

    /// @inheritdoc IStakingVault
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IStakingVault
    function beneficiaryShareBps() external view returns (uint16) {
        return _beneficiaryShareBps;
    }

    function _requireOwnedLock(bytes32 lockId) private view returns (Lock storage held) {
        held = _locks[lockId];
        if (held.staker == address(0)) revert StakingVaultUnknownLock(lockId);
        if (held.owner != msg.sender) revert StakingVaultNotLockOwner(lockId, msg.sender);
    }

    function _pullAsset(uint256 amount) private {
        if (_asset == address(0)) {
            if (msg.value != amount) revert StakingVaultWrongValue(msg.value, amount);
            return;
        }
        if (msg.value != 0) revert StakingVaultWrongValue(msg.value, 0);
        IERC20 token = IERC20(_asset);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert StakingVaultTransferMismatch(amount, received);
    }

    function _pushAsset(address to, uint256 amount) private {
        if (_asset == address(0)) {
            Address.sendValue(payable(to), amount);
        } else {
            IERC20(_asset).safeTransfer(to, amount);
        }
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert StakingVaultZeroAddress();
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _setUnbondingDelay(uint64 delay) private {
        if (delay > _MAX_UNBONDING_DELAY) revert StakingVaultDelayTooLong(delay, _MAX_UNBONDING_DELAY);
        _unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    function _setMinPoolStake(Role role, uint256 amount) private {
        if (amount == 0) revert StakingVaultZeroPoolStake(role);
        _minPoolStake[role] = amount;
        emit MinPoolStakeSet(role, amount);
    }

    function _setBeneficiaryShareBps(uint16 bps) private {
        if (bps > _BPS) revert StakingVaultInvalidBps(bps);
        _beneficiaryShareBps = bps;
        emit BeneficiaryShareSet(bps);
    }
}
