// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IOneStepExecutor
/// @notice Recomputes ONE element of ONE tensor of a model's integer graph on-chain, with exactly the
/// integer semantics of verifier-gen's reference interpreter (verifier-gen/src/intgraph.ts). Every value
/// it reads comes with a Merkle proof: node metadata and parameters against the model commitment
/// (`modelHash`, one leaf per integer, see verifier-gen/README.md), input tensor roots against the
/// operator's trace root, input elements against those tensor roots, and the request input bytes
/// against the request's input hash. A forged proof reverts.
///
/// Trace commitment (shared with the off-chain helpers in operator/src/optimistic/trace.ts):
///   element leaf = keccak256(abi.encode(int256 value)); tensor root = keccak Merkle root over the
///   elements (padded with bytes32(0) to a power of two; a single element's root is its leaf);
///   trace root = keccak Merkle root over the tensor roots (tensor 0 = the quantized input,
///   tensor i + 1 = the output of node i), padded the same way; parent = keccak256(left ++ right).
///
/// Supported ops: dense, conv2d, requant, relu, clamp, leakyrelu, maxpool, sumpool, add, reshape,
/// argmax, and tensor 0 for integer-valued inputs (input scale 1.0). `affine` reverts as unsupported.
/// Gas grows with the fan-in of the element (dense: inF weights + inF inputs; conv: C*KH*KW).
interface IOneStepExecutor {
    /// @notice One leaf of the model commitment. `node` is implied (the disputed node, or the graph header).
    /// @param position Leaf position in the model tree (bound by the sibling path).
    struct ModelLeaf {
        uint32 param;
        uint32 index;
        int256 value;
        uint256 position;
        bytes32[] siblings;
    }

    /// @notice The root of an input tensor, proven against the trace root at position `tensor`.
    struct TensorRoot {
        uint256 tensor;
        bytes32 root;
        bytes32[] siblings;
    }

    /// @notice One element of an input tensor, proven against that tensor's root.
    /// @param slot Which input of the node (0, or 1 for the second input of add).
    struct Element {
        uint8 slot;
        uint256 index;
        int256 value;
        bytes32[] siblings;
    }

    /// @notice Everything the recomputation reads, in the order the executor asks for it.
    /// @param input The request input bytes (only for tensor 0: one byte per value).
    struct OneStepProof {
        bytes input;
        ModelLeaf[] params;
        TensorRoot[] inputs;
        Element[] elements;
    }

    /// @notice What is being recomputed.
    struct Step {
        bytes32 modelHash;
        bytes32 traceRoot;
        bytes32 inputHash;
        uint256 tensor;
        uint256 element;
    }

    /// @notice A model leaf's Merkle proof does not verify against the model hash.
    error OneStepExecutorBadModelProof(uint32 node, uint32 param, uint32 index);
    /// @notice A model leaf is not the one the recomputation needs next.
    error OneStepExecutorUnexpectedParam(uint256 cursor, uint32 expectedParam, uint32 expectedIndex);
    /// @notice An input tensor root does not verify against the trace root.
    error OneStepExecutorBadTensorProof(uint256 tensor);
    /// @notice An input element does not verify against its tensor root.
    error OneStepExecutorBadElementProof(uint8 slot, uint256 index);
    /// @notice An input element is not the one the recomputation needs next.
    error OneStepExecutorUnexpectedElement(uint256 cursor, uint8 slot, uint256 index);
    /// @notice Too few params, inputs or elements were supplied.
    error OneStepExecutorMissingData(uint256 cursor);
    /// @notice An input tensor is not an earlier tensor of the graph.
    error OneStepExecutorBadInputTensor(uint256 tensor, uint256 inputTensor);
    /// @notice The request input bytes do not hash to the request's input hash, or have the wrong length.
    error OneStepExecutorBadInput(bytes32 expected, bytes32 supplied, uint256 length);
    /// @notice The op (or its input quantization) cannot be recomputed on-chain.
    error OneStepExecutorUnsupported(uint256 opcode);
    /// @notice The element index is outside the tensor, or the model's dimensions disagree with the config.
    error OneStepExecutorShapeMismatch(uint256 tensor, uint256 element, uint256 size);
    /// @notice A per-channel parameter index is not the element's channel.
    error OneStepExecutorWrongChannel(uint256 supplied, uint256 expected);

    /// @notice Recomputes element `step.element` of tensor `step.tensor`.
    /// @param step The commitments and the disputed position.
    /// @param tensorSizes Elements per tensor (tensor 0 = input), from the model's optimistic config.
    /// @param proof The supporting data.
    /// @return value The correct value of the element.
    function execute(
        Step calldata step,
        uint32[] calldata tensorSizes,
        OneStepProof calldata proof
    ) external pure returns (int256 value);
}
