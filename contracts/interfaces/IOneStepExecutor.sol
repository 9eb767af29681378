// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IOneStepExecutor
/// @notice Recomputes ONE element of ONE tensor of a model's integer graph on-chain, with exactly the
/// integer semantics of verifier-gen's reference interpreter (verifier-gen/src/intgraph.ts). Every value
/// it reads is proven, at the exact depth of its tree (TraceMerkle, commitment format 3): node metadata
/// and parameters as runs of consecutive leaves of the model tree, whose root and leaf count the model
/// commitment binds; the element-tree roots of the node's input tensors as trace leaves against the trace
/// root; input elements as runs against those roots; the request input bytes against the input hash. A
/// proof that does not verify reverts, so the caller decides nothing: the result is a function of the
/// commitments alone.
///
/// Some elements cannot be recomputed within a block: a model whose committed parameters are malformed
/// (shapes that disagree with its tensor sizes, an unknown op, values beyond 2^64, a shift beyond 127, a
/// gather index past its inputs, a normalize with eps < 1 or R > 64, a softmax mask entry other than 0/1 or
/// a row the mask leaves empty) or whose element needs more than `MAX_STEP_GAS` of reads. For those `execute`
/// returns `executable = false`; which elements these are is fixed by the model commitment, and verifier-gen's
/// `oneStepCost` lists them, so an operator knows before serving a model whether every element of it can be
/// disputed.
///
/// Supported ops: dense, conv2d, requant, relu, clamp, leakyrelu, maxpool, sumpool, add, affine, reshape,
/// argmax, lut, softmax (opcode 14; opcode 20 with a committed constant mask: causal attention), gather (of
/// one or two inputs), matmul (of two activations), normalize, embed, and tensor 0 = clamp(decode(input
/// bytes), lo, hi) with the model's input encoding.
interface IOneStepExecutor {
    /// @notice A run of consecutive leaves of the model tree, all of the node being recomputed (or of the
    /// graph header for tensor 0): leaf i is (node, param, index + i, values[i]) at position position + i.
    struct ParamRun {
        uint32 param;
        uint32 index;
        uint256 position;
        int256[] values;
        bytes32[] siblings;
    }

    /// @notice The element-tree root of one input tensor of the node, proven as that tensor's trace leaf.
    struct TensorRoot {
        bytes32 root;
        bytes32[] siblings;
    }

    /// @notice A run of consecutive elements [start, start + values.length) of input `slot` of the node.
    struct ElementRun {
        uint8 slot;
        uint256 start;
        int256[] values;
        bytes32[] siblings;
    }

    /// @notice Everything the recomputation reads, in the order the executor asks for it.
    /// @param input The request input bytes (only for tensor 0).
    struct OneStepProof {
        bytes input;
        ParamRun[] params;
        TensorRoot[] inputs;
        ElementRun[] elements;
    }

    /// @notice What is being recomputed, and the commitments it is recomputed against.
    /// @param modelHash The registered model commitment.
    /// @param leafCount Leaves of the model tree (bound by modelHash together with paramRoot and the sizes).
    /// @param paramRoot Root of the model tree.
    struct Step {
        bytes32 modelHash;
        uint256 leafCount;
        bytes32 paramRoot;
        bytes32 traceRoot;
        bytes32 inputHash;
        uint256 tensor;
        uint256 element;
    }

    /// @notice leafCount, paramRoot and the tensor sizes are not the preimage of the model hash.
    error OneStepExecutorBadCommitment(bytes32 modelHash, bytes32 computed);
    /// @notice The disputed element is not inside its tensor.
    error OneStepExecutorOutOfBounds(uint256 tensor, uint256 element);
    /// @notice A run of model leaves does not verify against the model tree.
    error OneStepExecutorBadModelProof(uint32 node, uint32 param, uint32 index);
    /// @notice A run of model leaves is not the one the recomputation needs next.
    error OneStepExecutorUnexpectedParam(uint256 cursor, uint32 expectedParam, uint32 expectedIndex, uint256 count);
    /// @notice An input tensor root does not verify against the trace root.
    error OneStepExecutorBadTensorProof(uint256 tensor);
    /// @notice A run of input elements does not verify against its tensor root.
    error OneStepExecutorBadElementProof(uint8 slot, uint256 start);
    /// @notice A run of input elements is not the one the recomputation needs next.
    error OneStepExecutorUnexpectedElement(uint256 cursor, uint8 slot, uint256 start, uint256 count);
    /// @notice Too few params, inputs or elements were supplied.
    error OneStepExecutorMissingData(uint256 cursor);
    /// @notice More params, inputs or elements were supplied than the recomputation reads.
    error OneStepExecutorExtraData();
    /// @notice The request input bytes do not hash to the request's input hash.
    error OneStepExecutorBadInput(bytes32 expected, bytes32 supplied);

    /// @notice Gas of reads above which an element is not executable (keeps every one-step within a block).
    function MAX_STEP_GAS() external view returns (uint256);

    /// @notice Recomputes element `step.element` of tensor `step.tensor`.
    /// @param step The commitments and the disputed position.
    /// @param tensorSizes Elements per tensor (tensor 0 = input), bound by the model hash.
    /// @param proof The supporting data.
    /// @return executable False when the model commitment makes this element impossible to recompute.
    /// @return value The correct value of the element (0 when not executable).
    function execute(
        Step calldata step,
        uint32[] calldata tensorSizes,
        OneStepProof calldata proof
    ) external pure returns (bool executable, int256 value);
}
