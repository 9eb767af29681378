// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IOneStepExecutor} from "../../interfaces/IOneStepExecutor.sol";
import {TraceMerkle} from "./TraceMerkle.sol";

/// @title OneStepExecutor
/// @notice Stateless on-chain recomputation of one element of the integer graph (see IOneStepExecutor).
/// Mirrors verifier-gen/src/intgraph.ts `evalNode` op by op.
contract OneStepExecutor is IOneStepExecutor {
    // Model commitment ids (verifier-gen/src/merkle.ts).
    uint32 private constant _GRAPH_NODE = type(uint32).max;
    uint32 private constant _INPUT_RANGE = 3;
    uint32 private constant _INPUT_SCALE_F64 = 4;
    uint32 private constant _OPCODE = 0;
    uint32 private constant _INPUTS = 1;
    uint32 private constant _WEIGHT = 3;
    uint32 private constant _BIAS = 4;
    uint32 private constant _MULT = 5;
    uint32 private constant _SHIFT = 6;
    uint32 private constant _RANGE = 7;
    uint32 private constant _GEOMETRY = 8;
    uint32 private constant _DENSE_DIMS = 9;
    uint32 private constant _ADD_COEFFS = 10;

    uint256 private constant _DENSE = 1;
    uint256 private constant _CONV2D = 2;
    uint256 private constant _REQUANT = 3;
    uint256 private constant _RELU = 4;
    uint256 private constant _CLAMP = 5;
    uint256 private constant _LEAKYRELU = 6;
    uint256 private constant _MAXPOOL = 7;
    uint256 private constant _SUMPOOL = 8;
    uint256 private constant _ADD = 9;
    uint256 private constant _RESHAPE = 11;
    uint256 private constant _ARGMAX = 12;

    /// @dev IEEE-754 binary64 bit pattern of 1.0: inputs are quantized on-chain only at scale 1.
    int256 private constant _F64_ONE = 0x3FF0000000000000;

    /// @dev Read state of one recomputation.
    struct Ctx {
        bytes32 modelHash;
        uint32 node;
        uint256 paramCursor;
        uint256 elementCursor;
        bytes32[2] roots;
        uint256[2] inputTensors;
        uint256 tensor;
        uint256 element;
    }

    /// @inheritdoc IOneStepExecutor
    function execute(
        Step calldata step,
        uint32[] calldata tensorSizes,
        OneStepProof calldata proof
    ) external pure returns (int256) {
        uint256 t = step.tensor;
        // INVARIANT: only elements inside the tensor are recomputed (padding is judged by the game).
        if (t >= tensorSizes.length || step.element >= tensorSizes[t]) {
            revert OneStepExecutorShapeMismatch(t, step.element, t < tensorSizes.length ? tensorSizes[t] : 0);
        }
        Ctx memory c;
        c.modelHash = step.modelHash;
        c.tensor = t;
        c.element = step.element;
        if (t == 0) {
            c.node = _GRAPH_NODE;
            return _inputElement(c, step.inputHash, tensorSizes[0], proof);
        }
        c.node = uint32(t - 1);
        uint256 op = uint256(_take(c, proof, _OPCODE, 0));
        _bindInputs(c, step.traceRoot, op == _ADD ? 2 : 1, proof);
        uint256 size = tensorSizes[t];
        if (op == _DENSE) return _dense(c, proof, size, tensorSizes[c.inputTensors[0]]);
        if (op == _CONV2D) return _conv(c, proof, size, tensorSizes[c.inputTensors[0]]);
        if (op == _MAXPOOL || op == _SUMPOOL) {
            return _pool(c, proof, op == _MAXPOOL, size, tensorSizes[c.inputTensors[0]]);
        }
        if (op == _REQUANT) return _requant(c, proof, size);
        if (op == _ARGMAX) return _argmax(c, proof, tensorSizes[c.inputTensors[0]]);
        int256 x = _elem(c, proof, 0, c.element);
        if (op == _RELU) return x > 0 ? x : int256(0);
        if (op == _RESHAPE) return x;
        if (op == _CLAMP) {
            int256 lo = _take(c, proof, _RANGE, 0);
            return _clamp(x, lo, _take(c, proof, _RANGE, 1));
        }
        if (op == _LEAKYRELU) {
            int256 mult = _take(c, proof, _MULT, 0);
            int256 shift = _take(c, proof, _SHIFT, 0);
            return x >= 0 ? x : _rescale(x, mult, shift);
        }
        if (op == _ADD) {
            int256 ma = _take(c, proof, _ADD_COEFFS, 0);
            int256 mb = _take(c, proof, _ADD_COEFFS, 1);
            return x * ma + _elem(c, proof, 1, c.element) * mb;
        }
        revert OneStepExecutorUnsupported(op);
    }

    // ------------------------------------------------------------------ ops

    /// @dev Tensor 0: q = clamp(x, lo, hi) for one input byte x (integer inputs, scale 1).
    function _inputElement(
        Ctx memory c,
        bytes32 inputHash,
        uint256 size,
        OneStepProof calldata proof
    ) private pure returns (int256) {
        bytes32 supplied = keccak256(proof.input);
        // INVARIANT: tensor 0 is the request's own input, one byte per value.
        if (supplied != inputHash || proof.input.length != size) {
            revert OneStepExecutorBadInput(inputHash, supplied, proof.input.length);
        }
        int256 lo = _take(c, proof, _INPUT_RANGE, 0);
        int256 hi = _take(c, proof, _INPUT_RANGE, 1);
        if (_take(c, proof, _INPUT_SCALE_F64, 0) != _F64_ONE) revert OneStepExecutorUnsupported(0);
        return _clamp(int256(uint256(uint8(proof.input[c.element]))), lo, hi);
    }

    /// @dev y[o] = bias[o] + sum_i W[o, i] x[i].
    function _dense(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 size,
        uint256 inSize
    ) private pure returns (int256 acc) {
        uint256 inF = uint256(_take(c, proof, _DENSE_DIMS, 0));
        uint256 outF = uint256(_take(c, proof, _DENSE_DIMS, 1));
        if (outF != size || inF != inSize) revert OneStepExecutorShapeMismatch(c.tensor, c.element, size);
        uint256 o = c.element;
        acc = _take(c, proof, _BIAS, uint32(o));
        for (uint256 i = 0; i < inF; ++i) {
            acc += _take(c, proof, _WEIGHT, uint32(o * inF + i)) * _elem(c, proof, 0, i);
        }
    }

    /// @dev Geometry [C,H,W, OC,OH,OW, KH,KW, SH,SW, PT,PL,PB,PR]; checks sizes against the config.
    function _geometry(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 size,
        uint256 inSize
    ) private pure returns (uint256[14] memory g) {
        for (uint32 i = 0; i < 14; ++i) g[i] = uint256(_take(c, proof, _GEOMETRY, i));
        if (g[3] * g[4] * g[5] != size || g[0] * g[1] * g[2] != inSize) {
            revert OneStepExecutorShapeMismatch(c.tensor, c.element, size);
        }
    }

    /// @dev y[oc,oh,ow] = bias[oc] + sum W[oc,c,kh,kw] x[c, oh*sh-pt+kh, ow*sw-pl+kw] over in-bounds taps.
    function _conv(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 size,
        uint256 inSize
    ) private pure returns (int256 acc) {
        uint256[14] memory g = _geometry(c, proof, size, inSize);
        uint256 oc = c.element / (g[4] * g[5]);
        acc = _take(c, proof, _BIAS, uint32(oc));
        for (uint256 ch = 0; ch < g[0]; ++ch) {
            for (uint256 kh = 0; kh < g[6]; ++kh) {
                (bool inRow, uint256 ih) = _tap((c.element / g[5]) % g[4], g[8], g[10], kh, g[1]);
                if (inRow) acc += _convRow(c, proof, g, ((oc * g[0] + ch) * g[6] + kh) * g[7], (ch * g[1] + ih) * g[2]);
            }
        }
    }

    /// @dev Sum over kw of W[wBase + kw] * x[xBase + iw] for the in-bounds columns of one kernel row.
    function _convRow(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256[14] memory g,
        uint256 wBase,
        uint256 xBase
    ) private pure returns (int256 acc) {
        for (uint256 kw = 0; kw < g[7]; ++kw) {
            (bool inCol, uint256 iw) = _tap(c.element % g[5], g[9], g[11], kw, g[2]);
            if (inCol) acc += _take(c, proof, _WEIGHT, uint32(wBase + kw)) * _elem(c, proof, 0, xBase + iw);
        }
    }

    /// @dev Max or sum over the in-bounds window of output element (c, oh, ow).
    function _pool(
        Ctx memory c,
        OneStepProof calldata proof,
        bool isMax,
        uint256 size,
        uint256 inSize
    ) private pure returns (int256) {
        uint256[14] memory g = _geometry(c, proof, size, inSize);
        uint256 ch = c.element / (g[4] * g[5]);
        // acc[0] = running max / sum, acc[1] = taps seen
        int256[2] memory acc;
        for (uint256 kh = 0; kh < g[6]; ++kh) {
            (bool inRow, uint256 ih) = _tap((c.element / g[5]) % g[4], g[8], g[10], kh, g[1]);
            if (inRow) _poolRow(c, proof, g, (ch * g[1] + ih) * g[2], isMax, acc);
        }
        if (acc[1] == 0) revert OneStepExecutorShapeMismatch(c.tensor, c.element, size);
        return acc[0];
    }

    function _poolRow(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256[14] memory g,
        uint256 xBase,
        bool isMax,
        int256[2] memory acc
    ) private pure {
        for (uint256 kw = 0; kw < g[7]; ++kw) {
            (bool inCol, uint256 iw) = _tap(c.element % g[5], g[9], g[11], kw, g[2]);
            if (!inCol) continue;
            int256 v = _elem(c, proof, 0, xBase + iw);
            if (acc[1] == 0 || (isMax && v > acc[0])) acc[0] = v;
            else if (!isMax) acc[0] += v;
            acc[1] += 1;
        }
    }

    /// @dev y = clamp(floor((x*M[c] + 2^(S[c]-1)) / 2^S[c]), lo, hi). The multiplier vector's length m
    /// (1 or the channel count) is read from the leaf positions: SHIFT[i] sits m leaves after MULT[i].
    function _requant(Ctx memory c, OneStepProof calldata proof, uint256 size) private pure returns (int256) {
        (int256 mult, int256 shift) = _channelConstants(c, proof, size);
        int256 scaled = _rescale(_elem(c, proof, 0, c.element), mult, shift);
        int256 lo = _take(c, proof, _RANGE, 0);
        return _clamp(scaled, lo, _take(c, proof, _RANGE, 1));
    }

    /// @dev Reads MULT[i] and SHIFT[i] and checks that i is the element channel.
    function _channelConstants(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 size
    ) private pure returns (int256 mult, int256 shift) {
        uint32 index;
        uint256 multPos;
        (mult, index, multPos) = _takeAny(c, proof, _MULT);
        shift = _take(c, proof, _SHIFT, index);
        uint256 m = proof.params[c.paramCursor - 1].position - multPos;
        uint256 expected = m <= 1 ? 0 : (c.element / (size / m)) % m;
        // INVARIANT: per-channel constants are those of the element own channel.
        if (index != expected) revert OneStepExecutorWrongChannel(index, expected);
    }

    /// @dev Index of the first maximum of the input tensor.
    function _argmax(Ctx memory c, OneStepProof calldata proof, uint256 inSize) private pure returns (int256) {
        uint256 best = 0;
        int256 bestValue = _elem(c, proof, 0, 0);
        for (uint256 i = 1; i < inSize; ++i) {
            int256 v = _elem(c, proof, 0, i);
            if (v > bestValue) {
                bestValue = v;
                best = i;
            }
        }
        return int256(best);
    }

    // ------------------------------------------------------------------ arithmetic

    function _clamp(int256 x, int256 lo, int256 hi) private pure returns (int256) {
        return x < lo ? lo : (x > hi ? hi : x);
    }

    /// @dev floor((x * mult + 2^(shift-1)) / 2^shift); `>>` on int256 rounds toward negative infinity.
    function _rescale(int256 x, int256 mult, int256 shift) private pure returns (int256) {
        if (shift < 0 || shift > 254) revert OneStepExecutorUnsupported(_REQUANT);
        if (shift == 0) return x * mult;
        uint256 s = uint256(shift);
        return (x * mult + int256(1 << (s - 1))) >> s;
    }

    /// @dev Input coordinate o*stride - pad + k, and whether it is inside [0, extent).
    function _tap(
        uint256 o,
        uint256 stride,
        uint256 pad,
        uint256 k,
        uint256 extent
    ) private pure returns (bool, uint256) {
        uint256 p = o * stride + k;
        if (p < pad || p - pad >= extent) return (false, 0);
        return (true, p - pad);
    }

    // ------------------------------------------------------------------ proofs

    function _bindInputs(Ctx memory c, bytes32 traceRoot, uint256 count, OneStepProof calldata proof) private pure {
        if (proof.inputs.length < count) revert OneStepExecutorMissingData(proof.inputs.length);
        for (uint256 s = 0; s < count; ++s) {
            uint256 id = uint256(_take(c, proof, _INPUTS, uint32(s)));
            // INVARIANT: a node reads only earlier tensors, whose roots the challenger did not dispute.
            if (id >= c.tensor) revert OneStepExecutorBadInputTensor(c.tensor, id);
            TensorRoot calldata r = proof.inputs[s];
            if (r.tensor != id || TraceMerkle.rootOf(r.root, id, r.siblings) != traceRoot) {
                revert OneStepExecutorBadTensorProof(id);
            }
            c.roots[s] = r.root;
            c.inputTensors[s] = id;
        }
    }

    /// @dev Next model leaf, which must be (param, index) of the current node.
    function _take(
        Ctx memory c,
        OneStepProof calldata proof,
        uint32 param,
        uint32 index
    ) private pure returns (int256 value) {
        uint32 got;
        (value, got, ) = _takeAny(c, proof, param);
        if (got != index) revert OneStepExecutorUnexpectedParam(c.paramCursor - 1, param, index);
    }

    /// @dev Next model leaf of `param` of the current node, any index; returns its index and position.
    function _takeAny(
        Ctx memory c,
        OneStepProof calldata proof,
        uint32 param
    ) private pure returns (int256, uint32, uint256) {
        uint256 k = c.paramCursor;
        if (k >= proof.params.length) revert OneStepExecutorMissingData(k);
        ModelLeaf calldata leaf = proof.params[k];
        if (leaf.param != param) revert OneStepExecutorUnexpectedParam(k, param, leaf.index);
        bytes32 h = TraceMerkle.modelLeaf(c.node, leaf.param, leaf.index, leaf.value);
        // INVARIANT: every constant the recomputation uses is a leaf of the registered model commitment.
        if (TraceMerkle.rootOf(h, leaf.position, leaf.siblings) != c.modelHash) {
            revert OneStepExecutorBadModelProof(c.node, leaf.param, leaf.index);
        }
        c.paramCursor = k + 1;
        return (leaf.value, leaf.index, leaf.position);
    }

    /// @dev Next input element, which must be element `index` of input `slot`, proven against its root.
    function _elem(Ctx memory c, OneStepProof calldata proof, uint8 slot, uint256 index) private pure returns (int256) {
        uint256 k = c.elementCursor;
        if (k >= proof.elements.length) revert OneStepExecutorMissingData(k);
        Element calldata e = proof.elements[k];
        if (e.slot != slot || e.index != index) revert OneStepExecutorUnexpectedElement(k, slot, index);
        // INVARIANT: input values are the operator's committed (and undisputed) values.
        if (TraceMerkle.rootOf(TraceMerkle.elementLeaf(e.value), index, e.siblings) != c.roots[slot]) {
            revert OneStepExecutorBadElementProof(slot, index);
        }
        c.elementCursor = k + 1;
        return e.value;
    }
}
