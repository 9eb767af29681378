/**
 * The trace commitment of an execution and the one-step proofs of contracts/modules/optimistic/
 * OneStepExecutor.sol: which values the executor reads for one element, in which order, with which
 * range proofs, and what those reads cost. `oneStepCost` tells, from the integer graph alone, whether
 * every element of a model can be disputed within a block; an operator must only serve a model in
 * optimistic or sampling mode when it can (the executor rules against whoever served an element it
 * cannot recompute).
 *
 * What an element reads, by op: element-wise ops their element (and their constants); dense the input row
 * and the weight row; conv2d / pools the in-bounds rows of the window; argmax the whole input; softmax its
 * row and the exponential table (a masked softmax, opcode 20, also its row's run of the mask, which leaves
 * the masked elements out of the row); gather its index INDEX[e] and the one input element it names (none for a
 * negative index; the second input past the first's size); matmul its row of a and its row of bt (two
 * runs of k); normalize its whole row of n (the inverse square root is recomputed from all of it); embed
 * its id x[e / width] and the one table entry (clamp(id) - lo) * width + e % width.
 */
import { hexlify } from "ethers";
import { nodeInputIds, runInt, tensorSizes, type IntGraph, type IntNode, type Trace } from "./intgraph.js";
import {
  GRAPH_NODE,
  PARAMS,
  TAG,
  depthFor,
  elementLeaf,
  merkleLevels,
  rangeProof,
  rootOf,
  tensorLeaf,
  type ModelRun,
  type ModelTree,
} from "./merkle.js";

/** OneStepExecutor's cost model (gas); both files must change together. */
export const ONE_STEP_GAS = {
  MAX_STEP: 10_000_000,
  BASE: 60_000,
  RUN: 6_000,
  VALUE: 2_000,
  SIBLING: 1_100,
} as const;

const runCost = (count: number, depth: number) =>
  ONE_STEP_GAS.RUN + count * ONE_STEP_GAS.VALUE + 2 * depth * ONE_STEP_GAS.SIBLING;
const affordable = (cost: number) => cost <= ONE_STEP_GAS.MAX_STEP - ONE_STEP_GAS.BASE;
/** Values the executor refuses to compute with (OneStepExecutor._MAX_ABS). */
const huge = (...v: number[]) => v.some((x) => !(Math.abs(x) < 2 ** 64));
const U32_MAX = 0xffffffff;

/**
 * Whether the executor finds the committed constants of a softmax, matmul, normalize or embed node
 * malformed once it has read them (the checks of OneStepExecutor._softmax, _matmul, _normalizeParams and
 * _embed; a softmax whose input and output sizes differ reads none, see `softmaxReads`).
 */
function malformedNode(n: IntNode, sizes: readonly number[], size: number): boolean {
  const ids = nodeInputIds(n);
  const in0 = sizes[ids[0]!]!;
  const in1 = ids.length === 2 ? sizes[ids[1]!]! : 0;
  switch (n.op) {
    case "softmax":
      if (huge(n.n, n.out, n.lo, n.hi)) return true;
      return n.n < 1 || n.out < 1 || size % n.n !== 0 || n.lo > n.hi || in0 !== size;
    case "matmul": {
      const d = [n.batch, n.m, n.k, n.n];
      if (d.some((v) => !(v >= 1 && v <= U32_MAX))) return true;
      const p = (a: number, b: number, c: number) => BigInt(a) * BigInt(b) * BigInt(c);
      return (
        p(n.batch, n.m, n.k) !== BigInt(in0) ||
        p(n.batch, n.n, n.k) !== BigInt(in1) ||
        p(n.batch, n.m, n.n) !== BigInt(size)
      );
    }
    case "normalize":
      if (huge(n.n, n.eps, n.R, n.mult, n.shift, n.lo, n.hi)) return true;
      return (
        n.n < 1 ||
        size % n.n !== 0 ||
        in0 !== size ||
        n.eps < 1 ||
        n.R < 0 ||
        n.R > 64 ||
        n.shift < 0 ||
        n.shift > 127 ||
        n.lo > n.hi
      );
    case "embed":
      if (huge(n.lo, n.hi, n.width)) return true;
      return n.width < 1 || n.lo > n.hi || (n.hi - n.lo + 1) * n.width > U32_MAX || in0 * n.width !== size;
    default:
      return false;
  }
}

/**
 * What the executor reads of a softmax past its opcode and inputs: "none" when the input and output sizes
 * differ, "constants" ([n, out] and the range) when they are malformed or the rest is unaffordable, "all"
 * otherwise (then the whole table, the mask run of the element's row when masked, and the row itself, whatever
 * the mask holds). `bulk` is the gas of the reads past the constants.
 */
function softmaxReads(
  n: IntNode & { op: "softmax" },
  sizes: readonly number[],
  size: number,
  modelDepth: number,
  inDepth: number,
): { reads: "none" | "constants" | "all"; bulk: number } {
  if (sizes[n.input]! !== size) return { reads: "none", bulk: 0 };
  if (malformedNode(n, sizes, size)) return { reads: "constants", bulk: 0 };
  const bulk =
    runCost(n.hi - n.lo + 1, modelDepth) +
    (n.mask === undefined ? 0 : runCost(n.n, modelDepth)) +
    runCost(n.n, inDepth);
  return { reads: affordable(bulk) ? "all" : "constants", bulk };
}

/** Whether the committed mask of element e's row is one the executor computes with: every entry 0/1, one kept. */
function maskedRowWellFormed(n: IntNode & { op: "softmax" }, element: number): boolean {
  if (n.mask === undefined) return true;
  const r0 = Math.floor(element / n.n) * n.n;
  const row = n.mask.slice(r0, r0 + n.n);
  return row.every((v) => v === 0 || v === 1) && row.includes(1);
}

// ------------------------------------------------------------------ trace commitment

export interface TraceCommitment {
  /** Per tensor: its element tree (levels[0] = element leaves, padded; last = [element root]). */
  tensorLevels: string[][][];
  /** The trace tree over the tensor leaves. */
  traceLevels: string[][];
  traceRoot: string;
  tensorSizes: number[];
  /** The committed values, tensor by tensor. */
  tensors: ArrayLike<number>[];
}

/** Commits to a sequence of tensors (tensor 0 = the quantized input, tensor i + 1 = the output of node i). */
export function commitTensors(tensors: readonly ArrayLike<number>[]): TraceCommitment {
  const tensorLevels = tensors.map((t) =>
    merkleLevels(
      Array.from(t, (v) => elementLeaf(v)),
      TAG.TENSOR_NODE,
    ),
  );
  const leaves = tensorLevels.map((levels, i) => tensorLeaf(i, tensors[i]!.length, rootOf(levels)));
  const traceLevels = merkleLevels(leaves, TAG.TRACE_NODE);
  return {
    tensorLevels,
    traceLevels,
    traceRoot: rootOf(traceLevels),
    tensorSizes: tensors.map((t) => t.length),
    tensors: [...tensors],
  };
}

/** Runs the reference interpreter and commits to its trace. */
export function commitTrace(graph: IntGraph, input: ArrayLike<number>): TraceCommitment & { trace: Trace } {
  const trace = runInt(graph, input);
  return { trace, ...commitTensors(trace.tensors) };
}

// ------------------------------------------------------------------ cost

/** Reads of one element: gas bound, and where the executor stops when it is not executable. */
export interface ElementCost {
  gas: number;
  executable: boolean;
}

type Geometry = {
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  PT: number;
  PL: number;
};

function geometryOf(n: {
  inShape: number[];
  outShape: number[];
  kernel: number[];
  strides: number[];
  pads: number[];
}): Geometry {
  const [C, H, W] = n.inShape as [number, number, number];
  const [, OH, OW] = n.outShape as [number, number, number];
  return {
    C,
    H,
    W,
    OH,
    OW,
    KH: n.kernel[0]!,
    KW: n.kernel[1]!,
    SH: n.strides[0]!,
    SW: n.strides[1]!,
    PT: n.pads[0]!,
    PL: n.pads[1]!,
  };
}

/** In-bounds window of element e: first kernel column, column count, and the in-bounds rows. */
function windowOf(g: Geometry, e: number): { kw0: number; cols: number; rows: { kh: number; ih: number }[] } {
  const oh = Math.floor(e / g.OW) % g.OH;
  const ow = e % g.OW;
  const base = ow * g.SW;
  const kw0 = base >= g.PL ? 0 : g.PL - base;
  const end = g.W + g.PL;
  let kwN = end > base ? end - base : 0;
  if (kwN > g.KW) kwN = g.KW;
  const cols = Math.max(0, kwN - Math.min(kw0, kwN));
  const rows: { kh: number; ih: number }[] = [];
  for (let kh = 0; kh < g.KH; kh++) {
    const p = oh * g.SH + kh;
    if (p < g.PT || p - g.PT >= g.H) continue;
    if (cols > 0) rows.push({ kh, ih: p - g.PT });
  }
  return { kw0: Math.min(kw0, kwN), cols, rows };
}

/** Gas bound of the one-step of element `element` of tensor `tensor`, as OneStepExecutor prices it. */
export function elementCost(graph: IntGraph, tensor: number, element: number, modelDepth: number): ElementCost {
  return costOf(graph, tensorSizes(graph), tensor, element, modelDepth);
}

function costOf(
  graph: IntGraph,
  sizes: readonly number[],
  tensor: number,
  element: number,
  modelDepth: number,
): ElementCost {
  const traceDepth = depthFor(sizes.length);
  let gas = 0;
  const read = (count: number, depth: number) => (gas += runCost(count, depth));
  if (tensor === 0) {
    read(2, modelDepth);
    read(2, modelDepth);
    return { gas, executable: true };
  }
  const n = graph.nodes[tensor - 1]!;
  const ids = nodeInputIds(n);
  read(1, modelDepth);
  read(ids.length, modelDepth);
  gas += ids.length * runCost(0, traceDepth);
  const inDepth = depthFor(sizes[ids[0]!]!);
  const bulk = (cost: number): ElementCost => ({ gas: gas + cost, executable: affordable(cost) });
  switch (n.op) {
    case "dense":
      read(2, modelDepth);
      return bulk(runCost(n.inF, modelDepth) + runCost(n.inF, inDepth));
    case "conv2d": {
      read(14, modelDepth);
      const g = geometryOf(n);
      const kernel = g.C * g.KH * g.KW;
      if (!affordable(runCost(kernel, modelDepth)))
        return { gas: gas + runCost(kernel, modelDepth), executable: false };
      const w = windowOf(g, element);
      const runs = g.C * w.rows.length;
      const taps = w.rows.length * w.cols;
      return bulk(
        runCost(kernel, modelDepth) +
          runs * (ONE_STEP_GAS.RUN + 2 * inDepth * ONE_STEP_GAS.SIBLING) +
          g.C * taps * ONE_STEP_GAS.VALUE,
      );
    }
    case "maxpool":
    case "sumpool": {
      read(14, modelDepth);
      const g = geometryOf(n);
      if (!affordable(runCost(g.KH * g.KW, 0))) return { gas: gas + runCost(g.KH * g.KW, 0), executable: false };
      const w = windowOf(g, element);
      return bulk(
        w.rows.length * (ONE_STEP_GAS.RUN + 2 * inDepth * ONE_STEP_GAS.SIBLING) + runCost(w.rows.length * w.cols, 0),
      );
    }
    case "argmax":
      return bulk(runCost(sizes[ids[0]!]!, inDepth));
    case "requant":
      read(2, modelDepth);
      read(1, modelDepth);
      read(1, modelDepth);
      read(2, modelDepth);
      read(1, inDepth);
      return { gas, executable: true };
    case "affine":
      read(3, modelDepth);
      read(1, modelDepth);
      read(1, modelDepth);
      read(1, inDepth);
      return { gas, executable: true };
    case "add":
      read(1, inDepth);
      read(2, modelDepth);
      read(1, depthFor(sizes[ids[1]!]!));
      return { gas, executable: true };
    case "lut":
      read(1, inDepth);
      read(2, modelDepth);
      read(1, modelDepth);
      return { gas, executable: true };
    case "softmax": {
      // [n, out], the range, the whole exponential table (the row's mask when masked) and the row: an element
      // depends on its whole row.
      const s = softmaxReads(n, sizes, sizes[tensor]!, modelDepth, inDepth);
      if (s.reads === "none") return { gas, executable: false };
      read(2, modelDepth);
      read(2, modelDepth);
      if (s.reads === "constants") return { gas: gas + s.bulk, executable: false };
      // INVARIANT: a row whose mask is not 0/1 or keeps nothing is malformed (read all the same, then refused).
      return { gas: gas + s.bulk, executable: maskedRowWellFormed(n, element) };
    }
    case "clamp":
    case "leakyrelu":
      read(1, inDepth);
      read(n.op === "clamp" ? 2 : 1, modelDepth);
      if (n.op === "leakyrelu") read(1, modelDepth);
      return { gas, executable: true };
    case "relu":
    case "reshape":
      read(1, inDepth);
      return { gas, executable: true };
    case "gather": {
      // INDEX[e], then the one element it names (none for a negative index): the cost varies per element.
      read(1, modelDepth);
      const at = n.index[element];
      if (at === undefined || huge(at)) return { gas, executable: false };
      if (at < 0) return { gas, executable: true };
      const in0 = sizes[ids[0]!]!;
      if (at < in0) return { gas: gas + runCost(1, inDepth), executable: true };
      if (ids.length === 2 && at - in0 < sizes[ids[1]!]!) {
        return { gas: gas + runCost(1, depthFor(sizes[ids[1]!]!)), executable: true };
      }
      return { gas, executable: false };
    }
    case "matmul":
      read(4, modelDepth);
      if (malformedNode(n, sizes, sizes[tensor]!)) return { gas, executable: false };
      return bulk(runCost(n.k, inDepth) + runCost(n.k, depthFor(sizes[ids[1]!]!)));
    case "normalize":
      read(4, modelDepth);
      read(1, modelDepth);
      read(1, modelDepth);
      read(2, modelDepth);
      if (malformedNode(n, sizes, sizes[tensor]!)) return { gas, executable: false };
      return bulk(runCost(n.n, inDepth));
    case "embed":
      read(2, modelDepth);
      read(1, modelDepth);
      if (malformedNode(n, sizes, sizes[tensor]!)) return { gas, executable: false };
      read(1, inDepth);
      read(1, modelDepth);
      return { gas, executable: true };
  }
}

export interface OneStepReport {
  /** The costliest element of the model and its gas bound. */
  worst: { tensor: number; element: number; gas: number };
  /** Every element can be disputed within OneStepExecutor's MAX_STEP_GAS. */
  executable: boolean;
  /** Per tensor (index = tensor): gas bound of its costliest element. */
  perTensor: number[];
}

/** The worst one-step of a model (every element of every tensor). */
export function oneStepCost(graph: IntGraph, modelDepth: number): OneStepReport {
  const sizes = tensorSizes(graph);
  let worst = { tensor: 0, element: 0, gas: 0 };
  let executable = true;
  const perTensor: number[] = [];
  sizes.forEach((size, t) => {
    const n = t === 0 ? undefined : graph.nodes[t - 1];
    // Only windowed ops and gathers vary by element; the others cost the same for every element, and a masked
    // softmax is executable or not row by row (its mask).
    const perRow = n?.op === "softmax" && n.mask !== undefined && Number.isInteger(n.n) && n.n >= 1;
    const elements =
      perRow || (n && (n.op === "conv2d" || n.op === "maxpool" || n.op === "sumpool" || n.op === "gather")) ? size : 1;
    const stride = perRow ? n.n : 1;
    let top = 0;
    for (let e = 0; e < elements; e += stride) {
      const c = costOf(graph, sizes, t, e, modelDepth);
      if (!c.executable) executable = false;
      if (c.gas > top) top = c.gas;
      if (c.gas > worst.gas) worst = { tensor: t, element: e, gas: c.gas };
    }
    perTensor.push(top);
  });
  return { worst, executable, perTensor };
}

// ------------------------------------------------------------------ proofs

export interface OneStepProof {
  input: string;
  params: ModelRun[];
  inputs: { root: string; siblings: string[] }[];
  elements: { slot: number; start: number; values: bigint[]; siblings: string[] }[];
}

export const ONE_STEP_PROOF_TYPE =
  "tuple(bytes input, tuple(uint32 param, uint32 index, uint256 position, int256[] values, bytes32[] siblings)[] params, " +
  "tuple(bytes32 root, bytes32[] siblings)[] inputs, " +
  "tuple(uint8 slot, uint256 start, int256[] values, bytes32[] siblings)[] elements)";

/** The module / arbitrator Step for the executor (IOneStepExecutor.Step). */
export interface Step {
  modelHash: string;
  leafCount: number;
  paramRoot: string;
  traceRoot: string;
  inputHash: string;
  tensor: number;
  element: number;
}

/**
 * Everything OneStepExecutor reads to recompute element `element` of tensor `tensor`, in the order it
 * reads it, taken from the commitment `c` (whose tensors before `tensor` are what the game agreed on).
 * Stops where the executor stops for an element it cannot afford.
 */
export function buildOneStepProof(
  graph: IntGraph,
  model: ModelTree,
  c: Pick<TraceCommitment, "tensorLevels" | "traceLevels" | "tensors">,
  tensor: number,
  element: number,
  inputBytes: Uint8Array,
): OneStepProof {
  const params: ModelRun[] = [];
  const elements: OneStepProof["elements"] = [];
  const inputs: OneStepProof["inputs"] = [];
  const proof: OneStepProof = { input: "0x", params, inputs, elements };
  if (tensor === 0) {
    proof.input = hexlify(inputBytes);
    params.push(model.run(GRAPH_NODE, PARAMS.INPUT_RANGE, 0, 2), model.run(GRAPH_NODE, PARAMS.INPUT_ENCODING, 0, 2));
    return proof;
  }
  const k = tensor - 1;
  const n = graph.nodes[k];
  if (n === undefined) throw new RangeError(`tensor ${tensor} is not produced by a node`);
  const take = (param: number, index: number, count = 1) => params.push(model.run(k, param, index, count));
  const ids = nodeInputIds(n);
  const sizes = tensorSizes(graph);
  take(PARAMS.OPCODE, 0);
  take(PARAMS.INPUTS, 0, ids.length);
  for (const id of ids) {
    inputs.push({ root: rootOf(c.tensorLevels[id]!), siblings: rangeProof(c.traceLevels, id, 1) });
  }
  const elems = (slot: number, start: number, count: number) => {
    const id = ids[slot]!;
    const t = c.tensors[id]!;
    const values: bigint[] = [];
    for (let i = start; i < start + count; i++) values.push(BigInt(t[i]!));
    elements.push({ slot, start, values, siblings: rangeProof(c.tensorLevels[id]!, start, count) });
  };
  const cost = costOf(graph, sizes, tensor, element, model.commitment.depth);
  const j = element;
  switch (n.op) {
    case "dense":
      take(PARAMS.DENSE_DIMS, 0, 2);
      if (!cost.executable) break;
      take(PARAMS.BIAS, j % n.outF);
      take(PARAMS.WEIGHT, (j % n.outF) * n.inF, n.inF);
      elems(0, Math.floor(j / n.outF) * n.inF, n.inF);
      break;
    case "conv2d":
    case "maxpool":
    case "sumpool": {
      take(PARAMS.GEOMETRY, 0, 14);
      if (!cost.executable) break;
      const g = geometryOf(n);
      const oc = Math.floor(j / (g.OH * g.OW));
      const w = windowOf(g, j);
      const ow = j % g.OW;
      const first = (ch: number, ih: number) => (ch * g.H + ih) * g.W + ow * g.SW + w.kw0 - g.PL;
      if (n.op === "conv2d") {
        take(PARAMS.BIAS, oc);
        take(PARAMS.WEIGHT, oc * g.C * g.KH * g.KW, g.C * g.KH * g.KW);
        for (let ch = 0; ch < g.C; ch++) for (const r of w.rows) elems(0, first(ch, r.ih), w.cols);
      } else {
        for (const r of w.rows) elems(0, first(oc, r.ih), w.cols);
      }
      break;
    }
    case "requant": {
      const m = n.mult.length;
      const inner = m === 1 ? 1 : n.shape.slice(2).reduce((a, b) => a * b, 1);
      const ch = Math.floor(j / inner) % m;
      take(PARAMS.CHANNELS, 0, 2);
      take(PARAMS.MULT, ch);
      take(PARAMS.SHIFT, ch);
      take(PARAMS.RANGE, 0, 2);
      elems(0, j, 1);
      break;
    }
    case "affine": {
      const m = n.mul.length;
      const s = n.input === 0 ? graph.input.shape : graph.nodes[n.input - 1]!.shape;
      const inner = m === 1 ? 1 : (n.inner ?? s.slice(2).reduce((a, b) => a * b, 1));
      const ch = Math.floor(j / inner) % m;
      take(PARAMS.CHANNELS, 0, 3);
      take(PARAMS.AFFINE_MUL, ch);
      take(PARAMS.AFFINE_ADD, n.add.length === 1 ? 0 : ch);
      elems(0, j, 1);
      break;
    }
    case "relu":
    case "reshape":
      elems(0, j, 1);
      break;
    case "clamp":
      elems(0, j, 1);
      take(PARAMS.RANGE, 0, 2);
      break;
    case "softmax": {
      const s = softmaxReads(n, sizes, sizes[tensor]!, model.commitment.depth, depthFor(sizes[ids[0]!]!));
      if (s.reads === "none") break;
      take(PARAMS.SOFTMAX, 0, 2);
      take(PARAMS.RANGE, 0, 2);
      if (s.reads === "constants") break;
      const r0 = Math.floor(j / n.n) * n.n;
      take(PARAMS.TABLE, 0, n.hi - n.lo + 1);
      // The mask run of the element's own row, whatever it holds (a malformed one is refused after the row).
      if (n.mask !== undefined) take(PARAMS.MASK, r0, n.n);
      elems(0, r0, n.n);
      break;
    }
    case "lut": {
      elems(0, j, 1);
      take(PARAMS.RANGE, 0, 2);
      const x = c.tensors[ids[0]!]![j]!;
      take(PARAMS.TABLE, Math.min(n.hi, Math.max(n.lo, x)) - n.lo);
      break;
    }
    case "leakyrelu":
      elems(0, j, 1);
      take(PARAMS.MULT, 0);
      take(PARAMS.SHIFT, 0);
      break;
    case "add":
      elems(0, j, 1);
      take(PARAMS.ADD_COEFFS, 0, 2);
      elems(1, j, 1);
      break;
    case "argmax":
      if (!cost.executable) break;
      elems(0, 0, c.tensors[ids[0]!]!.length);
      break;
    case "gather": {
      take(PARAMS.INDEX, j);
      const at = n.index[j]!;
      const in0 = sizes[ids[0]!]!;
      if (huge(at) || at < 0) break;
      if (at < in0) elems(0, at, 1);
      else if (ids.length === 2 && at - in0 < sizes[ids[1]!]!) elems(1, at - in0, 1);
      break;
    }
    case "matmul":
      take(PARAMS.MATMUL, 0, 4);
      if (!cost.executable) break;
      elems(0, Math.floor(j / n.n) * n.k, n.k);
      elems(1, (Math.floor(j / (n.m * n.n)) * n.n + (j % n.n)) * n.k, n.k);
      break;
    case "normalize":
      take(PARAMS.NORMALIZE, 0, 4);
      take(PARAMS.MULT, 0);
      take(PARAMS.SHIFT, 0);
      take(PARAMS.RANGE, 0, 2);
      if (!cost.executable) break;
      elems(0, Math.floor(j / n.n) * n.n, n.n);
      break;
    case "embed": {
      take(PARAMS.RANGE, 0, 2);
      take(PARAMS.EMBED, 0);
      if (!cost.executable) break;
      const at = Math.floor(j / n.width);
      elems(0, at, 1);
      const x = c.tensors[ids[0]!]![at]!;
      if (huge(x)) break;
      take(PARAMS.TABLE, (Math.min(n.hi, Math.max(n.lo, x)) - n.lo) * n.width + (j % n.width));
      break;
    }
  }
  return proof;
}
