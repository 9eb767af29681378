// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title TraceMerkle
/// @notice The commitments of veriml, format 3 (mirror of verifier-gen/src/merkle.ts): the model commitment
/// and the execution-trace commitment. Every hash carries a one-byte domain tag, so a value of one kind
/// can never pose as another (an inner node as a leaf, an element-tree node as a tensor, a trace node as a
/// model node), and every path is checked at the exact depth of its tree:
///   element leaf = keccak256(0x00 ++ int256 value)
///   tensor node  = keccak256(0x01 ++ left ++ right)
///   tensor leaf  = keccak256(0x02 ++ uint32 tensor ++ uint32 size ++ elementRoot)   (a leaf of the trace tree)
///   trace node   = keccak256(0x03 ++ left ++ right)
///   model leaf   = keccak256(0x04 ++ uint32 node ++ uint32 param ++ uint32 index ++ int256 value)
///   model node   = keccak256(0x05 ++ left ++ right)
///   modelHash    = keccak256(0x06 ++ uint32 leafCount ++ paramRoot ++ keccak256(abi.encodePacked(tensorSizes)))
/// Trees are padded with bytes32(0) leaves to a power of two; a leaf at position p is the left child at
/// level d when bit d of p is 0.
library TraceMerkle {
    bytes1 internal constant ELEMENT_LEAF = 0x00;
    bytes1 internal constant TENSOR_NODE = 0x01;
    bytes1 internal constant TENSOR_LEAF = 0x02;
    bytes1 internal constant TRACE_NODE = 0x03;
    bytes1 internal constant MODEL_LEAF = 0x04;
    bytes1 internal constant MODEL_NODE = 0x05;
    bytes1 internal constant MODEL_ROOT = 0x06;

    /// @notice Hash of a tensor element leaf.
    function elementLeaf(int256 value) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x00)
            mstore(add(p, 1), value)
            h := keccak256(p, 33)
        }
    }

    /// @notice Hash of the trace-tree leaf of tensor `tensor` with `size` elements and element-tree root `root`.
    function tensorLeaf(uint256 tensor, uint256 size, bytes32 root) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(TENSOR_LEAF, uint32(tensor), uint32(size), root));
    }

    /// @notice Hash of a model commitment leaf.
    function modelLeaf(uint32 node, uint32 param, uint32 index, int256 value) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(MODEL_LEAF, node, param, index, value));
    }

    /// @notice The model commitment of a model tree of `leafCount` leaves under `paramRoot` with these tensor sizes.
    function modelHash(
        uint256 leafCount,
        bytes32 paramRoot,
        uint32[] memory tensorSizes
    ) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encodePacked(MODEL_ROOT, uint32(leafCount), paramRoot, keccak256(abi.encodePacked(tensorSizes)))
            );
    }

    /// @notice keccak256(tag ++ left ++ right).
    function hashNode(bytes1 tag, bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, shr(248, tag))
            mstore(add(p, 1), left)
            mstore(add(p, 33), right)
            h := keccak256(p, 65)
        }
    }

    /// @notice Root reached from the contiguous run of leaf hashes `nodes` starting at position `start` in a
    /// tree of exactly `depth` levels, with the siblings in the order verifier-gen's rangeProof gives them
    /// (per level from the bottom: the left neighbour of the run, then the right one, each only when needed).
    /// Returns bytes32(0), which no tree has as its root, when the run does not fit the tree or the sibling
    /// count is not exactly the one the run needs. Overwrites `nodes`.
    function runRoot(
        bytes32[] memory nodes,
        uint256 start,
        uint256 depth,
        bytes32[] calldata siblings,
        bytes1 tag
    ) internal pure returns (bytes32) {
        uint256 n = nodes.length;
        // INVARIANT: the run lies inside the tree (no position aliasing above the depth).
        if (n == 0 || depth > 64 || start + n > (uint256(1) << depth)) return bytes32(0);
        uint256 a = start;
        uint256 k = 0;
        for (uint256 d = 0; d < depth; ++d) {
            // The run needs a left sibling when it starts on a right child, a right one when it ends on a left child.
            uint256 off = a & 1;
            uint256 right = (a + n) & 1;
            if (k + off + right > siblings.length) return bytes32(0);
            bytes32 leftSibling = off == 1 ? siblings[k] : bytes32(0);
            bytes32 rightSibling = right == 1 ? siblings[k + off] : bytes32(0);
            k += off + right;
            n = _hashLevel(nodes, n, off, leftSibling, rightSibling, tag);
            a >>= 1;
        }
        // INVARIANT: the path has exactly the length the tree's depth gives it.
        if (k != siblings.length) return bytes32(0);
        return nodes[0];
    }

    /// @dev Hashes the run nodes[0..n) framed by its siblings into its parents, in place: parent i reads framed
    /// positions 2i and 2i + 1 (node 2i - off and 2i + 1 - off), never below i once i > 0. Returns the count.
    function _hashLevel(
        bytes32[] memory nodes,
        uint256 n,
        uint256 off,
        bytes32 leftSibling,
        bytes32 rightSibling,
        bytes1 tag
    ) private pure returns (uint256 parents) {
        parents = (n + off + ((off + n) & 1)) >> 1;
        assembly ("memory-safe") {
            let base := add(nodes, 0x20)
            let scratch := mload(0x40)
            mstore8(scratch, shr(248, tag))
            for {
                let i := 0
            } lt(i, parents) {
                i := add(i, 1)
            } {
                let li := sub(add(i, i), off)
                let l := leftSibling
                if iszero(and(iszero(i), off)) {
                    l := mload(add(base, shl(5, li)))
                }
                let ri := add(li, 1)
                let r := rightSibling
                if lt(ri, n) {
                    r := mload(add(base, shl(5, ri)))
                }
                mstore(add(scratch, 1), l)
                mstore(add(scratch, 33), r)
                mstore(add(base, shl(5, i)), keccak256(scratch, 65))
            }
        }
    }

    /// @notice Root of a single leaf at `position` with its sibling path, checked at exactly `depth` levels.
    function leafRoot(
        bytes32 leaf,
        uint256 position,
        uint256 depth,
        bytes32[] calldata siblings,
        bytes1 tag
    ) internal pure returns (bytes32) {
        bytes32[] memory nodes = new bytes32[](1);
        nodes[0] = leaf;
        return runRoot(nodes, position, depth, siblings, tag);
    }

    /// @notice Root of a complete subtree given its 2^m nodes at the bottom level (left to right).
    function subtreeRoot(bytes32[] calldata nodes, bytes1 tag) internal pure returns (bytes32) {
        uint256 n = nodes.length;
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) level[i] = nodes[i];
        while (n > 1) {
            n >>= 1;
            for (uint256 i = 0; i < n; ++i) level[i] = hashNode(tag, level[2 * i], level[2 * i + 1]);
        }
        return level[0];
    }

    /// @notice Root of the element tree over `values` (padded with zero leaves to a power of two).
    function elementRoot(int256[] memory values) internal pure returns (bytes32) {
        uint256 n = values.length;
        uint256 size = uint256(1) << depthFor(n);
        bytes32[] memory level = new bytes32[](size);
        for (uint256 i = 0; i < n; ++i) level[i] = elementLeaf(values[i]);
        while (size > 1) {
            size >>= 1;
            for (uint256 i = 0; i < size; ++i) level[i] = hashNode(TENSOR_NODE, level[2 * i], level[2 * i + 1]);
        }
        return level[0];
    }

    /// @notice ceil(log2(n)) for n >= 1 (0 for n <= 1).
    function depthFor(uint256 n) internal pure returns (uint8 d) {
        uint256 size = 1;
        while (size < n) {
            size <<= 1;
            ++d;
        }
    }
}
