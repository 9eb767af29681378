// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IStakingVault
/// @notice Holds the stakes of operators and validators. Stake is free, locked (backing an assigned
/// duty, keyed by a lock id) or unbonding (waiting out the delay before withdrawal). Only authorised
/// contracts (the market and verification modules) lock, release and slash, and a slash never exceeds
/// what its lock holds. Slashed stake is split between the beneficiary named by the slasher and the
/// treasury, both paid by pull.
///
/// Pools: a staker joins the pool of a model in a role (`setService`) by bonding `minPoolStake(role)` of
/// its free stake for as long as it stays in; the bond is released when it leaves. Every change to a pool
/// is checkpointed by block, so `poolSizeAt` / `poolMemberAt` give the pool exactly as it stood at the end
/// of any past block: a module that requests randomness fixes the pool it will draw from at that moment
/// (the previous block), and nobody can join, leave or reorder that pool after seeing the randomness.
/// A member drawn for a duty is locked with `lockDuty`: its free stake first, then its pool bond, so a
/// seat never depends on what others did to the member's free stake since the snapshot, and every seat
/// puts at least what is left of the member's bond at risk.
interface IStakingVault {
    /// @notice Duties a staker can declare for a model.
    enum Role {
        Operator,
        Validator
    }

    /// @notice A staker's balances.
    /// @param total Stake held (free + locked + unbonding).
    /// @param locked Part backing open locks.
    /// @param unbonding Part waiting for `unbondingReadyAt`.
    /// @param unbondingReadyAt When the unbonding part may be withdrawn.
    /// @param bonded Part bonded to pool memberships (released on leaving a pool).
    struct StakeInfo {
        uint256 total;
        uint256 locked;
        uint256 unbonding;
        uint64 unbondingReadyAt;
        uint256 bonded;
    }

    /// @notice A lock on part of a staker's stake.
    struct Lock {
        address staker;
        address owner;
        uint256 amount;
    }

    /// @notice Emitted when stake is added.
    event Staked(address indexed staker, uint256 amount);
    /// @notice Emitted when stake starts unbonding.
    event UnbondingRequested(address indexed staker, uint256 amount, uint64 readyAt);
    /// @notice Emitted when unbonded stake leaves the vault.
    event StakeWithdrawn(address indexed staker, uint256 amount);
    /// @notice Emitted when a staker joins (bonding `bond`) or leaves (releasing it) the pool of a model in a role.
    event ServiceChanged(
        address indexed staker,
        uint256 indexed modelId,
        Role indexed role,
        bool serving,
        uint256 bond
    );
    /// @notice Emitted when governance sets the bond a pool membership of a role takes.
    event MinPoolStakeSet(Role indexed role, uint256 amount);
    /// @notice Emitted when an authorised contract locks stake.
    event StakeLocked(bytes32 indexed lockId, address indexed staker, address indexed owner, uint256 amount);
    /// @notice Emitted when a duty lock takes `amount` out of a pool member's bond.
    event PoolBondLocked(address indexed staker, uint256 indexed modelId, Role indexed role, uint256 amount);
    /// @notice Emitted when a released duty lock gives back what it took from a member's bond.
    event PoolBondRestored(address indexed staker, uint256 indexed modelId, Role indexed role, uint256 amount);
    /// @notice Emitted when what remains of a lock is released.
    event StakeUnlocked(bytes32 indexed lockId, address indexed staker, uint256 amount);
    /// @notice Emitted when locked stake is slashed.
    event StakeSlashed(
        bytes32 indexed lockId,
        address indexed staker,
        address indexed beneficiary,
        uint256 amount,
        uint256 beneficiaryAmount
    );
    /// @notice Emitted when slash proceeds are withdrawn.
    event SlashProceedsWithdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when governance authorises or deauthorises a market or module.
    event AuthorisationChanged(address indexed account, bool authorised);
    /// @notice Emitted when the unbonding delay changes.
    event UnbondingDelaySet(uint64 delay);
    /// @notice Emitted when the treasury changes.
    event TreasurySet(address indexed treasury);
    /// @notice Emitted when the beneficiary's share of slashes changes.
    event BeneficiaryShareSet(uint16 bps);

    /// @notice The caller is not an authorised market or module.
    error StakingVaultNotAuthorised(address caller);
    /// @notice Not enough free stake for what was asked.
    error StakingVaultInsufficientFreeStake(address staker, uint256 requested, uint256 free);
    /// @notice A lock with this id already exists.
    error StakingVaultLockExists(bytes32 lockId);
    /// @notice No open lock with this id.
    error StakingVaultUnknownLock(bytes32 lockId);
    /// @notice The caller did not create this lock.
    error StakingVaultNotLockOwner(bytes32 lockId, address caller);
    /// @notice The slash asks for more than the lock holds.
    error StakingVaultSlashExceedsLock(bytes32 lockId, uint256 amount, uint256 locked);
    /// @notice The unbonding delay has not passed.
    error StakingVaultUnbondingNotReady(uint64 readyAt, uint256 nowTimestamp);
    /// @notice Nothing to withdraw.
    error StakingVaultNothingToWithdraw(address account);
    /// @notice Amount must be non-zero.
    error StakingVaultZeroAmount();
    /// @notice ETH sent does not match the amount (ETH vaults) or ETH sent to a token vault.
    error StakingVaultWrongValue(uint256 sent, uint256 expected);
    /// @notice Basis points above 10000, or above the allowed maximum.
    error StakingVaultInvalidBps(uint256 bps);
    /// @notice Zero address given where an account is required.
    error StakingVaultZeroAddress();
    /// @notice The unbonding delay is longer than the maximum.
    error StakingVaultDelayTooLong(uint64 delay, uint64 maxDelay);
    /// @notice The token transferred a different amount than asked (fee-on-transfer tokens are not supported).
    error StakingVaultTransferMismatch(uint256 expected, uint256 received);
    /// @notice The caller is already in (joining) or not in (leaving) the pool.
    error StakingVaultPoolMembership(address staker, uint256 modelId, Role role, bool serving);
    /// @notice A pool bond must be positive.
    error StakingVaultZeroPoolStake(Role role);

    /// @notice Adds `amount` of stake (for ETH vaults, send exactly `amount` as value).
    function stake(uint256 amount) external payable;

    /// @notice Moves `amount` of free stake to unbonding; restarts the delay for everything unbonding.
    function requestUnbond(uint256 amount) external;

    /// @notice Withdraws all unbonding stake once the delay has passed.
    function withdraw() external;

    /// @notice Joins (`serving`: bonds `minPoolStake(role)` of free stake) or leaves (releases the bond) the
    /// pool of `modelId` in `role`.
    function setService(uint256 modelId, Role role, bool serving) external;

    /// @notice Locks `amount` of `staker`'s free stake under `lockId`. Authorised callers only.
    function lock(bytes32 lockId, address staker, uint256 amount) external;

    /// @notice Locks up to `amount` of a drawn pool member's stake for a duty: its free stake first, then
    /// what is left of its bond for (`modelId`, `role`). What the bond lends comes back to it when the lock is
    /// released (less what was slashed), while the staker is still a member. Never reverts for want of stake:
    /// the lock may hold less than asked, even nothing. Authorised callers only.
    /// @return locked What the lock holds.
    function lockDuty(
        bytes32 lockId,
        address staker,
        uint256 modelId,
        Role role,
        uint256 amount
    ) external returns (uint256 locked);

    /// @notice Releases what remains of `lockId` back to free stake. Lock owner only.
    /// @return released The amount released.
    function unlock(bytes32 lockId) external returns (uint256 released);

    /// @notice Slashes `amount` from `lockId`, crediting the beneficiary's share to `beneficiary`
    /// and the rest to the treasury. Lock owner only; never more than the lock holds.
    function slash(bytes32 lockId, uint256 amount, address beneficiary) external;

    /// @notice Withdraws the caller's slash proceeds.
    function withdrawSlashProceeds() external;

    /// @notice Governance: authorises a market or module to lock, release and slash.
    function setAuthorised(address account, bool authorised) external;

    /// @notice Governance: sets the unbonding delay (applies to later unbond requests).
    function setUnbondingDelay(uint64 delay) external;

    /// @notice Governance: sets the treasury.
    function setTreasury(address treasury) external;

    /// @notice Governance: sets the beneficiary's share of each slash, in basis points.
    function setBeneficiaryShareBps(uint16 bps) external;

    /// @notice Governance: the bond a pool membership in `role` takes (positive; applies to later joins).
    function setMinPoolStake(Role role, uint256 amount) external;

    /// @notice The staked asset: address(0) for ETH, else an ERC-20.
    function asset() external view returns (address);

    /// @notice Balances of `staker`.
    function stakeOf(address staker) external view returns (StakeInfo memory);

    /// @notice Stake that can be locked or unbonded now.
    function freeStake(address staker) external view returns (uint256);

    /// @notice An open lock (zero staker when none).
    function getLock(bytes32 lockId) external view returns (Lock memory);

    /// @notice Whether `staker` serves `modelId` in `role`.
    function isServing(address staker, uint256 modelId, Role role) external view returns (bool);

    /// @notice Number of stakers serving `modelId` in `role`.
    function serverCount(uint256 modelId, Role role) external view returns (uint256);

    /// @notice The `index`-th staker serving `modelId` in `role` (order is not stable).
    function serverAt(uint256 modelId, Role role, uint256 index) external view returns (address);

    /// @notice Size of the pool of `modelId` in `role` at the end of block `blockNumber`.
    function poolSizeAt(uint256 modelId, Role role, uint256 blockNumber) external view returns (uint256);

    /// @notice The `index`-th member of that pool at the end of block `blockNumber` (index < poolSizeAt).
    function poolMemberAt(
        uint256 modelId,
        Role role,
        uint256 index,
        uint256 blockNumber
    ) external view returns (address);

    /// @notice Whether `staker` may be seated for a duty of `modelId` in `role`: a member whose bond (counting
    /// what duty locks hold of it) is whole. Only the member can change that: by leaving, or by a slash that
    /// reached its bond (it then rejoins to be eligible again).
    function isPoolEligible(address staker, uint256 modelId, Role role) external view returns (bool);

    /// @notice The bond a pool membership in `role` takes.
    function minPoolStake(Role role) external view returns (uint256);

    /// @notice The bond `staker` holds for its membership of `modelId` in `role` (0 when not a member).
    function poolBondOf(address staker, uint256 modelId, Role role) external view returns (uint256);

    /// @notice Slash proceeds `account` can withdraw.
    function slashProceedsOf(address account) external view returns (uint256);

    /// @notice Whether `account` may lock, release and slash.
    function isAuthorised(address account) external view returns (bool);

    /// @notice Sum of all stakes held plus unwithdrawn slash proceeds: what the vault owes.
    function totalLiabilities() external view returns (uint256);

    /// @notice Unbonding delay in seconds.
    function unbondingDelay() external view returns (uint64);

    /// @notice Where the treasury's share of slashes goes.
    function treasury() external view returns (address);

    /// @notice Beneficiary's share of each slash, in basis points.
    function beneficiaryShareBps() external view returns (uint16);
}
