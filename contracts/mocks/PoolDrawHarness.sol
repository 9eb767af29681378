// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IStakingVault} from "../interfaces/IStakingVault.sol";
import {PoolDraw} from "../libraries/PoolDraw.sol";

/// @title PoolDrawHarness
/// @notice Test-only: exposes PoolDraw so tests can show a draw depends only on the snapshot and the seed.
contract PoolDrawHarness {
    function draw(
        IStakingVault vault,
        uint256 modelId,
        IStakingVault.Role role,
        uint256 snapshotBlock,
        uint256 seed,
        uint256 seats,
        address[] calldata excluded,
        uint256 maxProbes
    ) external view returns (address[] memory) {
        return
            PoolDraw.draw(
                PoolDraw.Draw({
                    vault: vault,
                    modelId: modelId,
                    role: role,
                    snapshotBlock: snapshotBlock,
                    seed: seed,
                    seats: seats,
                    maxProbes: maxProbes
                }),
                excluded
            );
    }
}
