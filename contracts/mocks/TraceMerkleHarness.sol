// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TraceMerkle} from "../modules/optimistic/TraceMerkle.sol";

/// @title TraceMerkleHarness
/// @notice Test-only: exposes the TraceMerkle library so tests compare it with verifier-gen/src/merkle.ts.
contract TraceMerkleHarness {
    function elementLeaf(int256 value) external pure returns (bytes32) {
        return TraceMerkle.elementLeaf(value);
    }

    function tensorLeaf(uint256 tensor, uint256 size, bytes32 root) external pure returns (bytes32) {
        return TraceMerkle.tensorLeaf(tensor, size, root);
    }

    function modelHash(uint256 leafCount, bytes32 paramRoot, uint32[] calldata sizes) external pure returns (bytes32) {
        return TraceMerkle.modelHash(leafCount, paramRoot, sizes);
    }

    function elementRoot(int256[] calldata values) external pure returns (bytes32) {
        return TraceMerkle.elementRoot(values);
    }

    function runRoot(
        bytes32[] calldata leaves,
        uint256 start,
        uint256 depth,
        bytes32[] calldata siblings,
        bytes1 tag
    ) external pure returns (bytes32) {
        bytes32[] memory nodes = leaves;
        return TraceMerkle.runRoot(nodes, start, depth, siblings, tag);
    }
}
