// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStakingVault} from "../interfaces/IStakingVault.sol";

/// @title PoolDraw
/// @notice The one way veriml draws samplers and committees: from a pool snapshot fixed before the
/// randomness existed (StakingVault checkpoints, read at `snapshotBlock`), by a partial Fisher-Yates
/// shuffle seeded with that randomness, so the draw is a deterministic function of the snapshot and the
/// seed. Each probe looks at a distinct pool position (the pool holds each address once, so one address
/// gets at most one seat); a candidate is seated unless excluded (the parties it would judge), no longer
/// in the pool, or slashed into its bond (StakingVault.isPoolEligible). Only the member's own conduct
/// unseats it, so nobody can steer the draw away from a member, only take itself out. Whether a member
/// can back the duty is deliberately not asked: free stake changes with other parties' actions (claims,
/// other draws), so a seated member is locked with `StakingVault.lockDuty` (free stake, then bond) for
/// what it has. The draw looks at no more than `maxProbes` positions.
library PoolDraw {
    /// @notice What to draw.
    /// @param snapshotBlock The pool is read as it stood at the end of this block.
    /// @param seats Members wanted; `maxProbes` positions looked at.
    struct Draw {
        IStakingVault vault;
        uint256 modelId;
        IStakingVault.Role role;
        uint256 snapshotBlock;
        uint256 seed;
        uint256 seats;
        uint256 maxProbes;
    }

    /// @notice Up to `d.seats` members of the pool snapshot, none in `excluded`, each still in the pool.
    /// Fewer than `seats` when the probes run out: the caller must redraw or refund, never proceed short.
    function draw(Draw memory d, address[] memory excluded) internal view returns (address[] memory picked) {
        uint256 n = d.vault.poolSizeAt(d.modelId, d.role, d.snapshotBlock);
        uint256 probes = n < d.maxProbes ? n : d.maxProbes;
        picked = new address[](d.seats);
        uint256 count;
        Shuffle memory sh = Shuffle({from: new uint256[](probes), to: new uint256[](probes), moves: 0});
        for (uint256 i = 0; i < probes && count < d.seats; ++i) {
            uint256 j = i + (uint256(keccak256(abi.encode(d.seed, i))) % (n - i));
            address candidate = d.vault.poolMemberAt(d.modelId, d.role, _swap(sh, i, j), d.snapshotBlock);
            if (_contains(excluded, candidate) || !d.vault.isPoolEligible(candidate, d.modelId, d.role)) continue;
            picked[count++] = candidate;
        }
        assembly ("memory-safe") {
            mstore(picked, count)
        }
    }

    /// @dev Sparse Fisher-Yates state: pool positions moved so far, as (position -> value) pairs.
    struct Shuffle {
        uint256[] from;
        uint256[] to;
        uint256 moves;
    }

    /// @dev Swaps virtual positions i <= j and returns what position i now holds (the drawn position).
    function _swap(Shuffle memory sh, uint256 i, uint256 j) private pure returns (uint256 drawn) {
        drawn = _valueAt(sh, j);
        _set(sh, j, _valueAt(sh, i));
    }

    function _valueAt(Shuffle memory sh, uint256 p) private pure returns (uint256) {
        for (uint256 k = 0; k < sh.moves; ++k) {
            if (sh.from[k] == p) return sh.to[k];
        }
        return p;
    }

    function _set(Shuffle memory sh, uint256 p, uint256 v) private pure {
        for (uint256 k = 0; k < sh.moves; ++k) {
            if (sh.from[k] == p) {
                sh.to[k] = v;
                return;
            }
        }
        sh.from[sh.moves] = p;
        sh.to[sh.moves] = v;
        sh.moves += 1;
    }

    function _contains(address[] memory list, address a) private pure returns (bool) {
        for (uint256 k = 0; k < list.length; ++k) {
            if (list[k] == a) return true;
        }
        return false;
    }
}
