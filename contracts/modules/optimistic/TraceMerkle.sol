// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title TraceMerkle
/// @notice The keccak256 Merkle trees of veriml: the model commitment (verifier-gen/src/merkle.ts) and
/// the trace commitment of optimistic mode. parent = keccak256(left ++ right); a leaf at position p is
/// the left child at level d when bit d of p is 0. Leaf preimages (32 or 44 bytes) never have the
/// 64-byte length of a parent, so a root binds exactly one value to each position.
library TraceMerkle {
    /// @notice Hash of a tensor element leaf.
    function elementLeaf(int256 value) internal pure returns (bytes32) {
        return keccak256(abi.encode(value));
    }

    /// @notice Hash of a model commitment leaf.
    function modelLeaf(uint32 node, uint32 param, uint32 index, int256 value) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(node, param, index, value));
    }

    /// @notice Root reached from `leaf` at `position` with the sibling path bottom-up.
    function rootOf(bytes32 leaf, uint256 position, bytes32[] calldata siblings) internal pure returns (bytes32 h) {
        h = leaf;
        uint256 k = position;
        for (uint256 i = 0; i < siblings.length; ++i) {
            h = (k & 1) == 1 ? hashPair(siblings[i], h) : hashPair(h, siblings[i]);
            k >>= 1;
        }
        // INVARIANT: the position is fully consumed by the path (no aliasing of high bits).
        if (k != 0) h = bytes32(0);
    }

    /// @notice Root of a complete subtree given its 2^m nodes at the bottom level (left to right).
    function subtreeRoot(bytes32[] calldata nodes) internal pure returns (bytes32) {
        uint256 n = nodes.length;
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) level[i] = nodes[i];
        while (n > 1) {
            n >>= 1;
            for (uint256 i = 0; i < n; ++i) level[i] = hashPair(level[2 * i], level[2 * i + 1]);
        }
        return level[0];
    }

    /// @notice keccak256(left ++ right).
    function hashPair(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @notice ceil(log2(n)) for n >= 1.
    function depthFor(uint256 n) internal pure returns (uint8 d) {
        uint256 size = 1;
        while (size < n) {
            size <<= 1;
            ++d;
        }
    }
}
