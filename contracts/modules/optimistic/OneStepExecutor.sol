// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IOneStepExecutor} from "../../interfaces/IOneStepExecutor.sol";
import {TraceMerkle} from "./TraceMerkle.sol";

/// @title OneStepExecutor
/// @notice Stateless on-chain recomputation of one element of the integer graph (see IOneStepExecutor).
/// Mirrors verifier-gen/src/intgraph.ts `evalNode` op by op; verifier-gen/src/onestep.ts builds the proofs
/// in the order this contract reads them and prices them with the same cost model.
/// Besides the element-wise, dense and windowed ops: gather (one or two inputs) reads its element's committed
/// index and the one input element it names; matmul reads the element's row of each operand (two runs of k);
/// normalize reads the element's whole row and recomputes its integer inverse square root (normalizeRow);
/// embed reads the element's id and the one table entry of that id's row; softmax reads its whole row and the
/// exponential table, and a masked softmax (opcode 20, causal attention) also its row's run of the committed
/// mask, which leaves the masked elements out of the row's maximum and sum (their probability is 0).
contract OneStepExecutor is IOneStepExecutor {
    /// @inheritdoc IOneStepExecutor
    uint256 public constant MAX_STEP_GAS = 10_000_000;

    // Cost model of the reads (an upper bound of what they cost, calldata included; see onestep.ts).
    uint256 private constant _BASE_GAS = 60_000;
    uint256 private constant _RUN_GAS = 6_000;
    uint256 private constant _VALUE_GAS = 2_000;
    uint256 private constant _SIBLING_GAS = 1_100;

    /// @dev Committed parameters and trace values beyond this magnitude make an element not executable,
    /// so no arithmetic below can overflow (and revert) on a malformed model.
    int256 private constant _MAX_ABS = int256(1) << 64;
    uint256 private constant _MAX_SHIFT = 127;

    // Model commitment ids (verifier-gen/src/merkle.ts).
    uint32 private constant _GRAPH_NODE = type(uint32).max;
    uint32 private constant _INPUT_RANGE = 3;
    uint32 private constant _INPUT_ENCODING = 8;
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
    uint32 private constant _AFFINE_MUL = 11;
    uint32 private constant _AFFINE_ADD = 12;
    uint32 private constant _CHANNELS = 13;
    uint32 private constant _TABLE = 14;
    uint32 private constant _SOFTMAX = 15;
    uint32 private constant _INDEX = 16;
    uint32 private constant _MATMUL_DIMS = 17;
    uint32 private constant _NORMALIZE_PARAMS = 18;
    uint32 private constant _EMBED_WIDTH = 19;
    uint32 private constant _MASK = 20;

    uint256 private constant _DENSE = 1;
    uint256 private constant _CONV2D = 2;
    uint256 private constant _REQUANT = 3;
    uint256 private constant _RELU = 4;
    uint256 private constant _CLAMP = 5;
    uint256 private constant _LEAKYRELU = 6;
    uint256 private constant _MAXPOOL = 7;
    uint256 private constant _SUMPOOL = 8;
    uint256 private constant _ADD = 9;
    uint256 private constant _AFFINE = 10;
    uint256 private constant _RESHAPE = 11;
    uint256 private constant _ARGMAX = 12;
    uint256 private constant _LUT = 13;
    uint256 private constant _SOFTMAX_OP = 14;
    uint256 private constant _GATHER1 = 15;
    uint256 private constant _GATHER2 = 16;
    uint256 private constant _MATMUL = 17;
    uint256 private constant _NORMALIZE = 18;
    uint256 private constant _EMBED = 19;
    uint256 private constant _MASKED_SOFTMAX = 20;

    /// @dev Largest R of a normalize (4^R fits in 129 bits, r = isqrt(4^R / D) in 64).
    uint256 private constant _MAX_NORM_BITS = 64;

    /// @dev Read state of one recomputation.
    struct Ctx {
        uint32 node;
        uint256 modelDepth;
        bytes32 paramRoot;
        uint256 paramCursor;
        uint256 elementCursor;
        uint256 inputCount;
        bytes32[2] roots;
        uint256[2] inputTensors;
        uint256[2] inputDepths;
        uint256 tensor;
        uint256 element;
        uint256 size;
        uint256 traceDepth;
        /// @dev Set when the committed model makes the element impossible to recompute.
        bool bad;
    }

    /// @inheritdoc IOneStepExecutor
    function execute(
        Step calldata step,
        uint32[] calldata tensorSizes,
        OneStepProof calldata proof
    ) external pure returns (bool executable, int256 value) {
        bytes32 computed = TraceMerkle.modelHash(step.leafCount, step.paramRoot, tensorSizes);
        // INVARIANT: the tree root, leaf count and shapes read below are exactly those of the registered model.
        if (computed != step.modelHash) revert OneStepExecutorBadCommitment(step.modelHash, computed);
        uint256 t = step.tensor;
        // INVARIANT: only elements inside the tensor are recomputed (padding is judged by the game).
        if (t >= tensorSizes.length || step.element >= tensorSizes[t]) {
            revert OneStepExecutorOutOfBounds(t, step.element);
        }
        Ctx memory c;
        c.modelDepth = TraceMerkle.depthFor(step.leafCount);
        c.paramRoot = step.paramRoot;
        c.tensor = t;
        c.element = step.element;
        c.size = tensorSizes[t];
        c.traceDepth = TraceMerkle.depthFor(tensorSizes.length);
        if (t == 0) {
            c.node = _GRAPH_NODE;
            value = _inputElement(c, step.inputHash, proof);
        } else {
            c.node = uint32(t - 1);
            value = _node(c, step.traceRoot, tensorSizes, proof);
        }
        // INVARIANT: a proof is exactly what the recomputation reads, nothing more.
        if (
            c.paramCursor != proof.params.length ||
            c.elementCursor != proof.elements.length ||
            c.inputCount != proof.inputs.length
        ) revert OneStepExecutorExtraData();
        if (c.bad) return (false, 0);
        return (true, value);
    }

    // ------------------------------------------------------------------ ops

    function _node(
        Ctx memory c,
        bytes32 traceRoot,
        uint32[] calldata sizes,
        OneStepProof calldata proof
    ) private pure returns (int256) {
        uint256 op = uint256(_one(c, proof, _OPCODE, 0));
        // INVARIANT: the committed opcode alone fixes how many inputs are read (two: add, gather2, matmul).
        uint256 count = op == _ADD || op == _GATHER2 || op == _MATMUL ? 2 : 1;
        int256[] memory ids = _run(c, proof, _INPUTS, 0, count);
        for (uint256 s = 0; s < count; ++s) {
            // INVARIANT: a node reads only earlier tensors, whose roots the game has agreed on.
            if (ids[s] < 0 || uint256(ids[s]) >= c.tensor) return _malformed(c);
            c.inputTensors[s] = uint256(ids[s]);
            c.inputDepths[s] = TraceMerkle.depthFor(sizes[uint256(ids[s])]);
        }
        _bindInputs(c, traceRoot, sizes, count, proof);
        uint256 inSize = sizes[c.inputTensors[0]];
        if (op == _DENSE) return _dense(c, proof, inSize);
        if (op == _CONV2D) return _conv(c, proof, inSize);
        if (op == _MAXPOOL || op == _SUMPOOL) return _pool(c, proof, op == _MAXPOOL, inSize);
        if (op == _ARGMAX) return _argmax(c, proof, inSize);
        if (op == _SOFTMAX_OP || op == _MASKED_SOFTMAX) {
            return inSize == c.size ? _softmax(c, proof, op == _MASKED_SOFTMAX) : _malformed(c);
        }
        if (op >= _GATHER1 && op <= _EMBED) return _dataOp(c, proof, op, sizes);
        // Element-wise ops: the output has the input's size.
        if (inSize != c.size || (op == _ADD && sizes[c.inputTensors[1]] != c.size)) return _malformed(c);
        return _elementwise(c, proof, op);
    }

    /// @dev Ops whose element e reads element e of their input(s).
    function _elementwise(Ctx memory c, OneStepProof calldata proof, uint256 op) private pure returns (int256) {
        if (op == _REQUANT) return _requant(c, proof);
        if (op == _AFFINE) return _affine(c, proof);
        if (op == _RELU) {
            int256 x = _elem(c, proof, 0, c.element);
            return x > 0 ? x : int256(0);
        }
        if (op == _RESHAPE) return _elem(c, proof, 0, c.element);
        if (op == _CLAMP) {
            int256 x = _elem(c, proof, 0, c.element);
            int256[] memory range = _run(c, proof, _RANGE, 0, 2);
            return _clamp(x, range[0], range[1]);
        }
        if (op == _LEAKYRELU) {
            int256 x = _elem(c, proof, 0, c.element);
            int256 mult = _one(c, proof, _MULT, 0);
            int256 shift = _one(c, proof, _SHIFT, 0);
            return x >= 0 ? x : _rescale(c, x, mult, shift);
        }
        if (op == _ADD) {
            int256 x = _elem(c, proof, 0, c.element);
            int256[] memory coeffs = _run(c, proof, _ADD_COEFFS, 0, 2);
            return x * coeffs[0] + _elem(c, proof, 1, c.element) * coeffs[1];
        }
        if (op == _LUT) return _lut(c, proof);
        return _malformed(c);
    }

    /// @dev Element j of its row: floor((2 out e_j + S) / 2S), e = exp[max - x] over the whole row (IntNode softmax).
    /// Masked (opcode 20): over the kept elements of the row only (mask 1); a masked element has e_j = 0, so y_j = 0.
    /// Reads [n, out], the range, then (when well-formed and affordable) the whole table, the mask run of the row
    /// (masked) and the row: the same reads for every element of a row, whatever its mask holds.
    function _softmax(Ctx memory c, OneStepProof calldata proof, bool masked) private pure returns (int256) {
        int256[] memory dims = _run(c, proof, _SOFTMAX, 0, 2);
        int256[] memory range = _run(c, proof, _RANGE, 0, 2);
        if (c.bad || dims[0] < 1 || dims[1] < 1 || c.size % uint256(dims[0]) != 0 || range[0] > range[1]) {
            return _malformed(c);
        }
        uint256 n = uint256(dims[0]);
        uint256 entries = uint256(range[1] - range[0]) + 1;
        uint256 cost = _cost(entries, c.modelDepth) + _cost(n, c.inputDepths[0]);
        if (masked) cost += _cost(n, c.modelDepth);
        if (!_affordable(c, cost)) return 0;
        (int256 mine, int256 sum) = _softmaxRow(c, proof, n, entries, masked);
        // INVARIANT: every kept difference indexes the committed table (an input outside its range is malformed),
        // and a masked row is 0/1 and keeps an element (S = -1 otherwise): S > 0, no division by zero.
        if (sum <= 0) return _malformed(c);
        return (2 * dims[1] * mine + sum) / (2 * sum);
    }

    /// @dev Reads the whole exponential table, the row's mask run (masked) and the element's row; returns e_j and S
    /// (S = 0 when a value read is beyond 2^64: the element is then already marked).
    function _softmaxRow(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 n,
        uint256 entries,
        bool masked
    ) private pure returns (int256, int256) {
        int256[] memory table = _run(c, proof, _TABLE, 0, entries);
        if (masked) return _maskedRow(c, proof, table, n);
        int256[] calldata row = _elems(c, proof, 0, (c.element / n) * n, n);
        if (c.bad) return (0, 0);
        return _softmaxTerms(table, row, c.element % n);
    }

    /// @dev The mask run of the element's row, then the row; returns e_j and S of the kept elements.
    function _maskedRow(
        Ctx memory c,
        OneStepProof calldata proof,
        int256[] memory table,
        uint256 n
    ) private pure returns (int256, int256) {
        uint256 start = (c.element / n) * n;
        // INVARIANT: the mask read is the run of the element's own row (its leaves bind node, MASK and index, and
        // the run must start at the row's first element), so no other row's mask can stand in.
        int256[] memory keep = _run(c, proof, _MASK, uint32(start), n);
        int256[] calldata row = _elems(c, proof, 0, start, n);
        if (c.bad) return (0, 0);
        return _maskedTerms(table, row, keep, c.element - start);
    }

    /// @dev e_j and S of a row: e = table[max - x]; S = -1 when a difference falls outside the table.
    function _softmaxTerms(
        int256[] memory table,
        int256[] calldata row,
        uint256 j
    ) private pure returns (int256 mine, int256 sum) {
        int256 m = row[0];
        for (uint256 k = 1; k < row.length; ++k) if (row[k] > m) m = row[k];
        for (uint256 k = 0; k < row.length; ++k) {
            int256 d = m - row[k];
            if (d < 0 || uint256(d) >= table.length) return (0, -1);
            sum += table[uint256(d)];
            if (k == j) mine = table[uint256(d)];
        }
    }

    /// @dev e_j and S of a masked row: m = max over the kept elements (keep 1), e = table[m - x] for them, 0 for the
    /// others; S = -1 when a mask entry is not 0/1, the row keeps nothing or a kept difference falls outside the table.
    function _maskedTerms(
        int256[] memory table,
        int256[] calldata row,
        int256[] memory keep,
        uint256 j
    ) private pure returns (int256 mine, int256 sum) {
        bool any = false;
        int256 m = 0;
        for (uint256 k = 0; k < row.length; ++k) {
            // INVARIANT: the committed mask is 0/1; any other entry makes the row (each of its elements) malformed.
            if (keep[k] != 0 && keep[k] != 1) return (0, -1);
            if (keep[k] == 1 && (!any || row[k] > m)) {
                m = row[k];
                any = true;
            }
        }
        // INVARIANT: a row that keeps nothing has no maximum and S = 0: malformed, for each of its elements.
        if (!any) return (0, -1);
        for (uint256 k = 0; k < row.length; ++k) {
            // INVARIANT: a masked element keeps e = 0 (its y is 0), only once its whole row is read and well-formed.
            if (keep[k] == 0) continue;
            int256 d = m - row[k];
            if (d < 0 || uint256(d) >= table.length) return (0, -1);
            sum += table[uint256(d)];
            if (k == j) mine = table[uint256(d)];
        }
    }

    /// @dev y = table[clamp(x, lo, hi) - lo]: the one table entry the element reads, proven at its index.
    function _lut(Ctx memory c, OneStepProof calldata proof) private pure returns (int256) {
        int256 x = _elem(c, proof, 0, c.element);
        int256[] memory range = _run(c, proof, _RANGE, 0, 2);
        if (range[0] > range[1] || range[1] - range[0] >= int256(uint256(type(uint32).max))) return _malformed(c);
        // INVARIANT: the entry read is the one at the input's own position in the committed table.
        return _one(c, proof, _TABLE, uint32(uint256(_clamp(x, range[0], range[1]) - range[0])));
    }

    /// @dev The ops of sequence models: gather, matmul, normalize, embed.
    function _dataOp(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 op,
        uint32[] calldata sizes
    ) private pure returns (int256) {
        uint256 inSize = sizes[c.inputTensors[0]];
        // The second input's size (0 when the op has one input).
        uint256 inSize1 = c.inputCount == 2 ? sizes[c.inputTensors[1]] : 0;
        if (op == _MATMUL) return _matmul(c, proof, inSize, inSize1);
        if (op == _NORMALIZE) return _normalize(c, proof, inSize);
        if (op == _EMBED) return _embed(c, proof, inSize);
        return _gather(c, proof, inSize, inSize1);
    }

    /// @dev y[e] = concat(x0, x1)[INDEX[e]], a negative index = the constant 0: one index, one input element.
    function _gather(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 inSize,
        uint256 inSize1
    ) private pure returns (int256) {
        // INVARIANT: the index read is the element's own (INDEX[e]), so no other input position can stand in.
        int256 at = _one(c, proof, _INDEX, uint32(c.element));
        if (c.bad) return 0;
        if (at < 0) return 0;
        uint256 i = uint256(at);
        if (i < inSize) return _elem(c, proof, 0, i);
        // INVARIANT: an index past both inputs names no value: the committed gather is malformed.
        if (i - inSize >= inSize1) return _malformed(c);
        return _elem(c, proof, 1, i - inSize);
    }

    /// @dev y[b, i, j] = sum_q a[(b m + i) k + q] bt[(b n + j) k + q]: the row of a and the row of bt, one run each.
    function _matmul(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 inSize,
        uint256 inSize1
    ) private pure returns (int256 acc) {
        int256[] memory raw = _run(c, proof, _MATMUL_DIMS, 0, 4);
        uint256[4] memory d; // batch, m, k, n
        for (uint256 i = 0; i < 4; ++i) {
            // INVARIANT: dims are in [1, 2^32), so their products below cannot overflow.
            if (raw[i] < 1 || raw[i] > int256(uint256(type(uint32).max))) return _malformed(c);
            d[i] = uint256(raw[i]);
        }
        // INVARIANT: both operands and the output have exactly the element counts the dims give them.
        if (d[0] * d[1] * d[2] != inSize || d[0] * d[3] * d[2] != inSize1 || d[0] * d[1] * d[3] != c.size) {
            return _malformed(c);
        }
        uint256 k = d[2];
        if (!_affordable(c, _cost(k, c.inputDepths[0]) + _cost(k, c.inputDepths[1]))) return 0;
        int256[] calldata a = _elems(c, proof, 0, (c.element / d[3]) * k, k);
        uint256 row = (c.element / (d[1] * d[3])) * d[3] + (c.element % d[3]);
        int256[] calldata bt = _elems(c, proof, 1, row * k, k);
        // INVARIANT: operands below 2^64 and k affordable (< 2^13): the sum stays below 2^141.
        if (c.bad) return 0;
        for (uint256 q = 0; q < k; ++q) acc += a[q] * bt[q];
    }

    /// @dev Element j of its row of n (IntNode normalize, normalizeRow): c_j = center ? n x_j - sum(x) : x_j,
    /// D = sum c^2 + eps, r = floor(sqrt(floor(4^R / D))),
    /// y = clamp(floor((c_j r mult + 2^(shift-1)) / 2^shift), lo, hi).
    function _normalize(Ctx memory c, OneStepProof calldata proof, uint256 inSize) private pure returns (int256) {
        int256[8] memory p = _normalizeParams(c, proof, inSize);
        if (c.bad) return 0;
        uint256 n = uint256(p[0]);
        if (!_affordable(c, _cost(n, c.inputDepths[0]))) return 0;
        int256[] calldata row = _elems(c, proof, 0, (c.element / n) * n, n);
        if (c.bad) return 0;
        (int256 mine, uint256 r) = _inverseRoot(row, c.element % n, p);
        return _clamp(_rescale(c, mine * int256(r), p[4], p[5]), p[6], p[7]);
    }

    /// @dev c_j of element j of a row and r = floor(sqrt(floor(4^R / D))), D = sum c^2 + eps, in one pass:
    /// sum (n x_k - s)^2 = n (n Q - s^2) with s = sum x, Q = sum x^2 (c = x when not centered: D = Q + eps).
    function _inverseRoot(
        int256[] calldata row,
        uint256 j,
        int256[8] memory p
    ) private pure returns (int256 mine, uint256 r) {
        // INVARIANT: |x| < 2^64 and n affordable (< 2^13): |s| < 2^77, Q < 2^141, n (n Q - s^2) < 2^168 (>= 0 by
        // Cauchy-Schwarz), |c_j| < 2^78, r < 2^64 and c_j r mult < 2^206: nothing below can overflow, unchecked.
        unchecked {
            int256 s = 0;
            int256 q = 0;
            for (uint256 k = 0; k < row.length; ++k) {
                int256 v = row[k];
                s += v;
                q += v * v;
            }
            int256 n = int256(row.length);
            bool center = p[1] == 1;
            uint256 sumSq = center ? uint256(n * (n * q - s * s)) : uint256(q);
            mine = center ? n * row[j] - s : row[j];
            r = Math.sqrt((uint256(1) << (2 * uint256(p[3]))) / (sumSq + uint256(p[2])));
        }
    }

    /// @dev [n, center, eps, R, mult, shift, lo, hi] of a normalize; marks the element when they are malformed.
    function _normalizeParams(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 inSize
    ) private pure returns (int256[8] memory p) {
        int256[] memory dims = _run(c, proof, _NORMALIZE_PARAMS, 0, 4);
        p[4] = _one(c, proof, _MULT, 0);
        p[5] = _one(c, proof, _SHIFT, 0);
        int256[] memory range = _run(c, proof, _RANGE, 0, 2);
        if (c.bad) return p;
        for (uint256 i = 0; i < 4; ++i) p[i] = dims[i];
        p[6] = range[0];
        p[7] = range[1];
        // INVARIANT: rows of n tile the input, which the output mirrors; D >= eps >= 1 (no division by zero);
        // 4^R fits (R <= 64) and the shift is one _rescale takes: no committed values make the arithmetic revert.
        if (
            p[0] < 1 ||
            c.size % uint256(p[0]) != 0 ||
            inSize != c.size ||
            (p[1] != 0 && p[1] != 1) ||
            p[2] < 1 ||
            p[3] < 0 ||
            uint256(p[3]) > _MAX_NORM_BITS ||
            p[5] < 0 ||
            uint256(p[5]) > _MAX_SHIFT ||
            p[6] > p[7]
        ) _malformed(c);
    }

    /// @dev y[i width + j] = table[(clamp(x_i, lo, hi) - lo) width + j]: the id, then its row's one entry.
    function _embed(Ctx memory c, OneStepProof calldata proof, uint256 inSize) private pure returns (int256) {
        int256[] memory range = _run(c, proof, _RANGE, 0, 2);
        int256 width = _one(c, proof, _EMBED_WIDTH, 0);
        if (c.bad) return 0;
        // INVARIANT: every row of the committed table indexes within uint32, and the output is width per id.
        if (
            width < 1 ||
            range[0] > range[1] ||
            (uint256(range[1] - range[0]) + 1) * uint256(width) > type(uint32).max ||
            inSize * uint256(width) != c.size
        ) return _malformed(c);
        uint256 w = uint256(width);
        int256 x = _elem(c, proof, 0, c.element / w);
        if (c.bad) return 0;
        uint256 id = uint256(_clamp(x, range[0], range[1]) - range[0]);
        // INVARIANT: the entry read is the one at the id's row and the element's column of the committed table.
        return _one(c, proof, _TABLE, uint32(id * w + (c.element % w)));
    }

    /// @dev Tensor 0: q = clamp(decode(bytes of value e), lo, hi), with the model's input encoding.
    function _inputElement(Ctx memory c, bytes32 inputHash, OneStepProof calldata proof) private pure returns (int256) {
        bytes32 supplied = keccak256(proof.input);
        // INVARIANT: tensor 0 is the request's own input.
        if (supplied != inputHash) revert OneStepExecutorBadInput(inputHash, supplied);
        int256[] memory range = _run(c, proof, _INPUT_RANGE, 0, 2);
        int256[] memory encoding = _run(c, proof, _INPUT_ENCODING, 0, 2);
        int256 width = encoding[0];
        if (width < 1 || width > 4 || proof.input.length != c.size * uint256(width)) return _malformed(c);
        uint256 w = uint256(width);
        uint256 raw = 0;
        for (uint256 k = 0; k < w; ++k) raw = (raw << 8) | uint8(proof.input[c.element * w + k]);
        int256 v = int256(raw);
        if (encoding[1] == 1 && raw >= uint256(1) << (8 * w - 1)) v -= int256(uint256(1) << (8 * w));
        return _clamp(v, range[0], range[1]);
    }

    /// @dev y[r, o] = bias[o] + sum_i W[o, i] x[r, i]: the weight row and the input row as one run each.
    function _dense(Ctx memory c, OneStepProof calldata proof, uint256 inSize) private pure returns (int256) {
        int256[] memory dims = _run(c, proof, _DENSE_DIMS, 0, 2);
        // Rows of inF inputs map to rows of outF outputs (one row: a plain dense layer).
        if (dims[0] < 1 || dims[1] < 1 || inSize % uint256(dims[0]) != 0) return _malformed(c);
        if ((inSize / uint256(dims[0])) * uint256(dims[1]) != c.size) return _malformed(c);
        uint256 inF = uint256(dims[0]);
        if (!_affordable(c, _cost(inF, c.modelDepth) + _cost(inF, c.inputDepths[0]))) return 0;
        return _denseRow(c, proof, inF, uint256(dims[1]));
    }

    /// @dev Output o of row r (element r * outF + o): bias[o] + W[o, :] . x[r, :].
    function _denseRow(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 inF,
        uint256 outF
    ) private pure returns (int256 acc) {
        uint256 o = c.element % outF;
        acc = _one(c, proof, _BIAS, uint32(o));
        int256[] calldata w = _params(c, proof, _WEIGHT, uint32(o * inF), inF);
        int256[] calldata x = _elems(c, proof, 0, (c.element / outF) * inF, inF);
        if (c.bad) return 0;
        for (uint256 i = 0; i < inF; ++i) acc += w[i] * x[i];
    }

    /// @dev Geometry [C,H,W, OC,OH,OW, KH,KW, SH,SW, PT,PL,PB,PR]; checks it against the tensor sizes.
    function _geometry(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 inSize
    ) private pure returns (uint256[14] memory g) {
        int256[] memory raw = _run(c, proof, _GEOMETRY, 0, 14);
        for (uint256 i = 0; i < 14; ++i) {
            if (raw[i] < 0 || raw[i] > int256(uint256(type(uint32).max))) {
                _malformed(c);
                return g;
            }
            g[i] = uint256(raw[i]);
        }
        if (
            g[3] * g[4] * g[5] != c.size ||
            g[0] * g[1] * g[2] != inSize ||
            g[6] == 0 ||
            g[7] == 0 ||
            g[8] == 0 ||
            g[9] == 0
        ) {
            _malformed(c);
        }
    }

    /// @dev y[oc,oh,ow] = bias[oc] + sum W[oc,c,kh,kw] x[c, oh*sh-pt+kh, ow*sw-pl+kw] over in-bounds taps.
    /// Reads the output channel's whole kernel as one run and each in-bounds input row segment as a run.
    function _conv(Ctx memory c, OneStepProof calldata proof, uint256 inSize) private pure returns (int256 acc) {
        uint256[14] memory g = _geometry(c, proof, inSize);
        if (c.bad) return 0;
        uint256 kernel = g[0] * g[6] * g[7];
        if (!_affordable(c, _convCost(c, g))) return 0;
        uint256 oc = c.element / (g[4] * g[5]);
        acc = _one(c, proof, _BIAS, uint32(oc));
        int256[] calldata w = _params(c, proof, _WEIGHT, uint32(oc * kernel), kernel);
        for (uint256 ch = 0; ch < g[0]; ++ch) {
            for (uint256 kh = 0; kh < g[6]; ++kh) acc += _convRow(c, proof, g, w, ch, kh);
        }
    }

    /// @dev Reads of a conv element: its channel's kernel (one run) and C runs per in-bounds window row.
    function _convCost(Ctx memory c, uint256[14] memory g) private pure returns (uint256) {
        uint256 kernel = g[0] * g[6] * g[7];
        // The kernel bounds every loop (KH, KW >= 1), so price it before walking the window.
        if (_BASE_GAS + _cost(kernel, c.modelDepth) > MAX_STEP_GAS) return type(uint256).max;
        (uint256 rows, uint256 taps) = _window(c, g);
        uint256 runs = g[0] * rows;
        return
            _cost(kernel, c.modelDepth) +
            runs * (_RUN_GAS + 2 * c.inputDepths[0] * _SIBLING_GAS) +
            g[0] * taps * _VALUE_GAS;
    }

    /// @dev In-bounds input rows and taps of the element's window (per channel).
    function _window(Ctx memory c, uint256[14] memory g) private pure returns (uint256 rows, uint256 taps) {
        (uint256 kw0, uint256 kwN) = _cols(c, g);
        for (uint256 kh = 0; kh < g[6]; ++kh) {
            (bool inRow, ) = _tap((c.element / g[5]) % g[4], g[8], g[10], kh, g[1]);
            if (inRow && kwN > kw0) {
                rows += 1;
                taps += kwN - kw0;
            }
        }
    }

    /// @dev The kernel columns [kw0, kwN) whose taps fall inside the input row (a contiguous range).
    function _cols(Ctx memory c, uint256[14] memory g) private pure returns (uint256 kw0, uint256 kwN) {
        uint256 base = (c.element % g[5]) * g[9];
        // input column = base + kw - PL, inside [0, W)
        kw0 = base >= g[11] ? 0 : g[11] - base;
        uint256 end = g[2] + g[11]; // kw < W + PL - base
        kwN = end > base ? end - base : 0;
        if (kwN > g[7]) kwN = g[7];
        if (kw0 > kwN) kw0 = kwN;
    }

    /// @dev Sum over the in-bounds columns of kernel row (ch, kh): W[oc, ch, kh, kw] * x[ch, ih, iw].
    function _convRow(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256[14] memory g,
        int256[] calldata w,
        uint256 ch,
        uint256 kh
    ) private pure returns (int256 acc) {
        (uint256 first, uint256 count, uint256 kw0) = _rowRun(c, g, ch, kh);
        if (count == 0) return 0;
        int256[] calldata x = _elems(c, proof, 0, first, count);
        if (c.bad) return 0;
        uint256 wBase = (ch * g[6] + kh) * g[7] + kw0;
        for (uint256 i = 0; i < count; ++i) acc += w[wBase + i] * x[i];
    }

    /// @dev Max or sum over the in-bounds window of output element (c, oh, ow), one run per window row.
    function _pool(
        Ctx memory c,
        OneStepProof calldata proof,
        bool isMax,
        uint256 inSize
    ) private pure returns (int256) {
        uint256[14] memory g = _geometry(c, proof, inSize);
        if (c.bad) return 0;
        if (g[0] != g[3]) return _malformed(c);
        // The window bounds the loops, so price it before walking it.
        if (!_affordable(c, _cost(g[6] * g[7], 0))) return 0;
        (uint256 rows, uint256 taps) = _window(c, g);
        if (taps == 0) return _malformed(c);
        if (!_affordable(c, rows * (_RUN_GAS + 2 * c.inputDepths[0] * _SIBLING_GAS) + _cost(taps, 0))) return 0;
        // acc[0] = running max / sum, acc[1] = values seen
        int256[2] memory acc;
        for (uint256 kh = 0; kh < g[6]; ++kh) _poolRow(c, proof, g, kh, isMax, acc);
        return acc[0];
    }

    function _poolRow(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256[14] memory g,
        uint256 kh,
        bool isMax,
        int256[2] memory acc
    ) private pure {
        (uint256 first, uint256 count, ) = _rowRun(c, g, c.element / (g[4] * g[5]), kh);
        if (count == 0) return;
        int256[] calldata x = _elems(c, proof, 0, first, count);
        if (c.bad) return;
        for (uint256 i = 0; i < count; ++i) {
            if (acc[1] == 0 || (isMax && x[i] > acc[0])) acc[0] = x[i];
            else if (!isMax) acc[0] += x[i];
            acc[1] += 1;
        }
    }

    /// @dev The in-bounds input elements of window row `kh` in channel `ch`: first index, count, and the
    /// first kernel column they meet (count 0 when the row is outside the input).
    function _rowRun(
        Ctx memory c,
        uint256[14] memory g,
        uint256 ch,
        uint256 kh
    ) private pure returns (uint256 first, uint256 count, uint256 kw0) {
        (bool inRow, uint256 ih) = _tap((c.element / g[5]) % g[4], g[8], g[10], kh, g[1]);
        uint256 kwN;
        (kw0, kwN) = _cols(c, g);
        if (!inRow || kwN == kw0) return (0, 0, 0);
        first = (ch * g[1] + ih) * g[2] + (c.element % g[5]) * g[9] + kw0 - g[11];
        count = kwN - kw0;
    }

    /// @dev y = clamp(floor((x*M[ch] + 2^(S[ch]-1)) / 2^S[ch]), lo, hi) with ch the element's channel.
    function _requant(Ctx memory c, OneStepProof calldata proof) private pure returns (int256) {
        (uint32 ch, ) = _channel(c, proof, 2);
        if (c.bad) return 0;
        int256 mult = _one(c, proof, _MULT, ch);
        int256 shift = _one(c, proof, _SHIFT, ch);
        int256[] memory range = _run(c, proof, _RANGE, 0, 2);
        int256 scaled = _rescale(c, _elem(c, proof, 0, c.element), mult, shift);
        return _clamp(scaled, range[0], range[1]);
    }

    /// @dev y = x * mul[ch] + add[ch], or + add[0] when the node has one scalar add (CHANNELS[2] == 1).
    function _affine(Ctx memory c, OneStepProof calldata proof) private pure returns (int256) {
        (uint32 ch, int256[] memory channels) = _channel(c, proof, 3);
        if (c.bad) return 0;
        int256 mul = _one(c, proof, _AFFINE_MUL, ch);
        int256 add = _one(c, proof, _AFFINE_ADD, channels[2] == 1 ? 0 : ch);
        return _elem(c, proof, 0, c.element) * mul + add;
    }

    /// @dev Reads CHANNELS [m, inner, ...] and returns the element's channel floor(e / inner) % m.
    function _channel(
        Ctx memory c,
        OneStepProof calldata proof,
        uint256 count
    ) private pure returns (uint32, int256[] memory ch) {
        ch = _run(c, proof, _CHANNELS, 0, count);
        if (ch[0] < 1 || ch[1] < 1 || ch[0] > int256(uint256(type(uint32).max))) {
            _malformed(c);
            return (0, ch);
        }
        return (uint32((c.element / uint256(ch[1])) % uint256(ch[0])), ch);
    }

    /// @dev Index of the first maximum of the input tensor, read as one run.
    function _argmax(Ctx memory c, OneStepProof calldata proof, uint256 inSize) private pure returns (int256) {
        if (c.size != 1) return _malformed(c);
        if (!_affordable(c, _cost(inSize, c.inputDepths[0]))) return 0;
        int256[] calldata x = _elems(c, proof, 0, 0, inSize);
        uint256 best = 0;
        for (uint256 i = 1; i < inSize; ++i) {
            if (x[i] > x[best]) best = i;
        }
        return int256(best);
    }

    // ------------------------------------------------------------------ arithmetic

    function _clamp(int256 x, int256 lo, int256 hi) private pure returns (int256) {
        return x < lo ? lo : (x > hi ? hi : x);
    }

    /// @dev floor((x * mult + 2^(shift-1)) / 2^shift); `>>` on int256 rounds toward negative infinity.
    function _rescale(Ctx memory c, int256 x, int256 mult, int256 shift) private pure returns (int256) {
        if (shift < 0 || uint256(shift) > _MAX_SHIFT) return _malformed(c);
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

    /// @dev Gas bound of reading a run of `count` values with a range proof in a tree of `depth` levels.
    function _cost(uint256 count, uint256 depth) private pure returns (uint256) {
        return _RUN_GAS + count * _VALUE_GAS + 2 * depth * _SIBLING_GAS;
    }

    /// @dev Whether reads of `cost` gas fit; marks the element not executable otherwise.
    function _affordable(Ctx memory c, uint256 cost) private pure returns (bool) {
        if (cost <= MAX_STEP_GAS - _BASE_GAS) return true;
        c.bad = true;
        return false;
    }

    function _malformed(Ctx memory c) private pure returns (int256) {
        c.bad = true;
        return 0;
    }

    // ------------------------------------------------------------------ proofs

    /// @dev Proves the element-tree root of each input slot as its tensor's leaf of the trace tree.
    function _bindInputs(
        Ctx memory c,
        bytes32 traceRoot,
        uint32[] calldata sizes,
        uint256 count,
        OneStepProof calldata proof
    ) private pure {
        if (proof.inputs.length < count) revert OneStepExecutorMissingData(proof.inputs.length);
        for (uint256 s = 0; s < count; ++s) {
            uint256 id = c.inputTensors[s];
            TensorRoot calldata r = proof.inputs[s];
            bytes32 leaf = TraceMerkle.tensorLeaf(id, sizes[id], r.root);
            // INVARIANT: an input root is the committed root of exactly tensor `id`, at the trace tree's depth.
            if (TraceMerkle.leafRoot(leaf, id, c.traceDepth, r.siblings, TraceMerkle.TRACE_NODE) != traceRoot) {
                revert OneStepExecutorBadTensorProof(id);
            }
            c.roots[s] = r.root;
        }
        c.inputCount = count;
    }

    /// @dev The next model run, which must be `count` leaves (param, index..) of the current node; read in
    /// place from calldata. A value beyond 2^64 marks the element not executable (callers check `c.bad`
    /// before any arithmetic on a run).
    function _params(
        Ctx memory c,
        OneStepProof calldata proof,
        uint32 param,
        uint32 index,
        uint256 count
    ) private pure returns (int256[] calldata values) {
        uint256 k = c.paramCursor;
        if (k >= proof.params.length) revert OneStepExecutorMissingData(k);
        ParamRun calldata run = proof.params[k];
        if (run.param != param || run.index != index || run.values.length != count) {
            revert OneStepExecutorUnexpectedParam(k, param, index, count);
        }
        values = run.values;
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            int256 v = values[i];
            leaves[i] = TraceMerkle.modelLeaf(c.node, param, index + uint32(i), v);
            if (v >= _MAX_ABS || v <= -_MAX_ABS) c.bad = true;
        }
        // INVARIANT: every constant the recomputation uses is a leaf of the registered model commitment.
        if (
            TraceMerkle.runRoot(leaves, run.position, c.modelDepth, run.siblings, TraceMerkle.MODEL_NODE) != c.paramRoot
        ) {
            revert OneStepExecutorBadModelProof(c.node, param, index);
        }
        c.paramCursor = k + 1;
    }

    /// @dev A short model run copied to memory, out-of-bounds values replaced by 0 (and the element marked).
    function _run(
        Ctx memory c,
        OneStepProof calldata proof,
        uint32 param,
        uint32 index,
        uint256 count
    ) private pure returns (int256[] memory values) {
        int256[] calldata raw = _params(c, proof, param, index, count);
        values = new int256[](count);
        for (uint256 i = 0; i < count; ++i) values[i] = _bounded(raw[i]);
    }

    function _one(Ctx memory c, OneStepProof calldata proof, uint32 param, uint32 index) private pure returns (int256) {
        return _bounded(_params(c, proof, param, index, 1)[0]);
    }

    /// @dev The next element run, which must be elements [start, start + count) of input `slot`; read in place.
    function _elems(
        Ctx memory c,
        OneStepProof calldata proof,
        uint8 slot,
        uint256 start,
        uint256 count
    ) private pure returns (int256[] calldata values) {
        uint256 k = c.elementCursor;
        if (k >= proof.elements.length) revert OneStepExecutorMissingData(k);
        ElementRun calldata run = proof.elements[k];
        if (run.slot != slot || run.start != start || run.values.length != count) {
            revert OneStepExecutorUnexpectedElement(k, slot, start, count);
        }
        values = run.values;
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            int256 v = values[i];
            leaves[i] = TraceMerkle.elementLeaf(v);
            if (v >= _MAX_ABS || v <= -_MAX_ABS) c.bad = true;
        }
        // INVARIANT: input values are the committed (and agreed) values of the input tensor.
        if (
            TraceMerkle.runRoot(leaves, start, c.inputDepths[slot], run.siblings, TraceMerkle.TENSOR_NODE) !=
            c.roots[slot]
        ) revert OneStepExecutorBadElementProof(slot, start);
        c.elementCursor = k + 1;
    }

    function _elem(Ctx memory c, OneStepProof calldata proof, uint8 slot, uint256 index) private pure returns (int256) {
        return _bounded(_elems(c, proof, slot, index, 1)[0]);
    }

    /// @dev The value, or 0 when beyond 2^64 (the element is then marked not executable by the reader).
    function _bounded(int256 v) private pure returns (int256) {
        return v >= _MAX_ABS || v <= -_MAX_ABS ? int256(0) : v;
    }
}
