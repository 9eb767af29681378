/**
 * Trace commitment of optimistic mode and the data of every dispute move (IOptimisticModule,
 * IOneStepExecutor). element leaf = keccak256(abi.encode(int256 v)); tensor root = Merkle root over the
 * elements; trace root = Merkle root over the tensor roots (tensor 0 = quantized input, tensor i+1 =
 * output of node i); both padded with bytes32(0) to a power of two (verifier-gen's merkleLevels).
 */
import { AbiCoder, getBytes, hexlify, keccak256 } from "ethers";
import { runInt, type IntGraph, type Trace } from "../../../verifier-gen/src/intgraph.js";
import { GRAPH_NODE, PARAMS, hashLeaf, leafValues, merkleLevels, type Leaf } from "../../../verifier-gen/src/merkle.js";
import { OperatorError } from "../errors.js";

const abi = AbiCoder.defaultAbiCoder();
export const ZERO_HASH = "0x" + "00".repeat(32);
/** IOptimisticModule.LEVELS_PER_MOVE. */
export const LEVELS_PER_MOVE = 3;

/** A dispute step cannot be built from this trace (wrong tensor, element or op). */
export class TraceError extends OperatorError {}

export function elementLeaf(value: number | bigint): string {
  return keccak256(abi.encode(["int256"], [BigInt(value)]));
}

/** Merkle levels: levels[0] = leaves (padded), last = [root]. */
export type Levels = string[][];

export const rootOf = (levels: Levels): string => levels[levels.length - 1]![0]!;

/** Sibling path (bottom-up) of leaf `index`. */
export function siblingsOf(levels: Levels, index: number): string[] {
  const path: string[] = [];
  let k = index;
  for (let d = 0; d < levels.length - 1; d++) {
    path.push(levels[d]![k ^ 1]!);
    k >>= 1;
  }
  return path;
}

/**
 * The 2^m nodes `m` levels below the node at descent level `level` (0 = root), position `position`;
 * m = min(LEVELS_PER_MOVE, depth - level). This is what the operator reveals in one move.
 */
export function descendants(levels: Levels, level: number, position: number): string[] {
  const depth = levels.length - 1;
  const m = Math.min(LEVELS_PER_MOVE, depth - level);
  if (m <= 0) throw new TraceError(`no descendants below level ${level} of a depth-${depth} tree`);
  const row = levels[depth - level - m]!;
  return row.slice(position << m, (position + 1) << m);
}

/** Index of the first revealed node that differs from ours (the leftmost disagreement), or -1. */
export function firstDifference(revealed: readonly string[], ours: readonly string[]): number {
  return revealed.findIndex((h, i) => h.toLowerCase() !== ours[i]?.toLowerCase());
}

export interface TraceCommitment {
  trace: Trace;
  /** Per tensor: its element tree. */
  tensorLevels: Levels[];
  traceLevels: Levels;
  traceRoot: string;
  tensorSizes: number[];
}

export function commitTensors(tensors: readonly ArrayLike<number>[]): Omit<TraceCommitment, "trace"> {
  const tensorLevels = tensors.map((t) => merkleLevels(Array.from(t, (v) => elementLeaf(v))));
  const traceLevels = merkleLevels(tensorLevels.map(rootOf));
  return {
    tensorLevels,
    traceLevels,
    traceRoot: rootOf(traceLevels),
    tensorSizes: tensors.map((t) => t.length),
  };
}

/** Runs the reference interpreter and commits to its trace. */
export function commitTrace(graph: IntGraph, input: ArrayLike<number>): TraceCommitment {
  const trace = runInt(graph, input);
  return { trace, ...commitTensors(trace.tensors) };
}

/** Elements per tensor of a graph (tensor 0 = the input), as the optimistic config lists them. */
export function tensorSizes(graph: IntGraph): number[] {
  const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  return [prod(graph.input.shape), ...graph.nodes.map((n) => prod(n.shape))];
}

/** What the operator submits: abi.encode(OptimisticProof{traceRoot, outputSiblings}). */
export function encodeSubmissionProof(c: Omit<TraceCommitment, "trace">): string {
  const last = c.tensorLevels.length - 1;
  return abi.encode(
    ["tuple(bytes32 traceRoot, bytes32[] outputSiblings)"],
    [{ traceRoot: c.traceRoot, outputSiblings: siblingsOf(c.traceLevels, last) }],
  );
}

// ------------------------------------------------------------------ model commitment proofs

export interface ModelLeafProof {
  param: number;
  index: number;
  value: bigint;
  position: number;
  siblings: string[];
}

/** The model commitment tree of a graph, indexed by (node, param, index). */
export class ModelTree {
  private readonly levels: Levels;
  private readonly positions = new Map<string, number>();
  private readonly leaves: Leaf[];
  readonly root: string;

  constructor(graph: IntGraph) {
    this.leaves = leafValues(graph);
    this.levels = merkleLevels(this.leaves.map(hashLeaf));
    this.root = rootOf(this.levels);
    this.leaves.forEach((l, i) => this.positions.set(`${l.node >>> 0}:${l.param}:${l.index}`, i));
  }

  proof(node: number, param: number, index: number): ModelLeafProof {
    const position = this.positions.get(`${node >>> 0}:${param}:${index}`);
    if (position === undefined)
      throw new TraceError(`model has no leaf (node ${node}, param ${param}, index ${index})`);
    return {
      param,
      index,
      value: this.leaves[position]!.value,
      position,
      siblings: siblingsOf(this.levels, position),
    };
  }
}

// ------------------------------------------------------------------ one-step proof

export interface OneStepProof {
  input: string;
  params: ModelLeafProof[];
  inputs: { tensor: number; root: string; siblings: string[] }[];
  elements: { slot: number; index: number; value: bigint; siblings: string[] }[];
}

export const ONE_STEP_PROOF_TYPE =
  "tuple(bytes input, tuple(uint32 param, uint32 index, int256 value, uint256 position, bytes32[] siblings)[] params, " +
  "tuple(uint256 tensor, bytes32 root, bytes32[] siblings)[] inputs, " +
  "tuple(uint8 slot, uint256 index, int256 value, bytes32[] siblings)[] elements)";

type Tap = { ok: true; at: number } | { ok: false };
const tap = (o: number, stride: number, pad: number, k: number, extent: number): Tap => {
  const p = o * stride + k - pad;
  return p < 0 || p >= extent ? { ok: false } : { ok: true, at: p };
};

/**
 * Everything OneStepExecutor reads to recompute element `element` of tensor `tensor`, in the order it
 * reads it, taken from the operator's commitment `c` (its input tensors are what the game agreed on).
 */
export function buildOneStepProof(
  graph: IntGraph,
  model: ModelTree,
  c: Omit<TraceCommitment, "trace"> & { trace: Pick<Trace, "tensors"> },
  tensor: number,
  element: number,
  inputBytes: Uint8Array,
): OneStepProof {
  const params: ModelLeafProof[] = [];
  const elements: OneStepProof["elements"] = [];
  const inputs: OneStepProof["inputs"] = [];
  const proof: OneStepProof = { input: "0x", params, inputs, elements };
  if (tensor === 0) {
    proof.input = hexlify(inputBytes);
    params.push(model.proof(GRAPH_NODE, PARAMS.INPUT_RANGE, 0), model.proof(GRAPH_NODE, PARAMS.INPUT_RANGE, 1));
    params.push(model.proof(GRAPH_NODE, PARAMS.INPUT_SCALE_F64, 0));
    return proof;
  }
  const k = tensor - 1;
  const n = graph.nodes[k];
  if (n === undefined) throw new TraceError(`tensor ${tensor} is not produced by a node`);
  const take = (param: number, index: number) => params.push(model.proof(k, param, index));
  const ids = n.op === "add" ? [...n.inputs] : [n.input];
  take(PARAMS.OPCODE, 0);
  ids.forEach((id, s) => {
    take(PARAMS.INPUTS, s);
    inputs.push({ tensor: id, root: rootOf(c.tensorLevels[id]!), siblings: siblingsOf(c.traceLevels, id) });
  });
  const elem = (slot: number, index: number) => {
    const id = ids[slot]!;
    const value = BigInt(c.trace.tensors[id]![index]!);
    elements.push({ slot, index, value, siblings: siblingsOf(c.tensorLevels[id]!, index) });
  };
  const j = element;
  switch (n.op) {
    case "dense":
      take(PARAMS.DENSE_DIMS, 0);
      take(PARAMS.DENSE_DIMS, 1);
      take(PARAMS.BIAS, j);
      for (let i = 0; i < n.inF; i++) {
        take(PARAMS.WEIGHT, j * n.inF + i);
        elem(0, i);
      }
      break;
    case "conv2d":
    case "maxpool":
    case "sumpool": {
      for (let i = 0; i < 14; i++) take(PARAMS.GEOMETRY, i);
      const [C, H, W] = n.inShape;
      const [, OH, OW] = n.outShape;
      const [KH, KW] = n.kernel;
      const oc = Math.floor(j / (OH * OW));
      const oh = Math.floor(j / OW) % OH;
      const ow = j % OW;
      if (n.op === "conv2d") take(PARAMS.BIAS, oc);
      const channels = n.op === "conv2d" ? Array.from({ length: C }, (_, i) => i) : [oc];
      for (const ch of channels)
        for (let kh = 0; kh < KH; kh++) {
          const r = tap(oh, n.strides[0], n.pads[0], kh, H);
          if (!r.ok) continue;
          for (let kw = 0; kw < KW; kw++) {
            const col = tap(ow, n.strides[1], n.pads[1], kw, W);
            if (!col.ok) continue;
            if (n.op === "conv2d") take(PARAMS.WEIGHT, ((oc * C + ch) * KH + kh) * KW + kw);
            elem(0, (ch * H + r.at) * W + col.at);
          }
        }
      break;
    }
    case "requant": {
      const m = n.mult.length;
      const size = c.tensorSizes[tensor]!;
      const idx = m <= 1 ? 0 : Math.floor(j / (size / m)) % m;
      take(PARAMS.MULT, idx);
      take(PARAMS.SHIFT, idx);
      take(PARAMS.RANGE, 0);
      take(PARAMS.RANGE, 1);
      elem(0, j);
      break;
    }
    case "relu":
    case "reshape":
      elem(0, j);
      break;
    case "clamp":
      elem(0, j);
      take(PARAMS.RANGE, 0);
      take(PARAMS.RANGE, 1);
      break;
    case "leakyrelu":
      elem(0, j);
      take(PARAMS.MULT, 0);
      take(PARAMS.SHIFT, 0);
      break;
    case "add":
      elem(0, j);
      take(PARAMS.ADD_COEFFS, 0);
      take(PARAMS.ADD_COEFFS, 1);
      elem(1, j);
      break;
    case "argmax":
      for (let i = 0; i < c.tensorSizes[ids[0]!]!; i++) elem(0, i);
      break;
    case "affine":
      throw new TraceError(`node ${k} (affine) has no on-chain one-step`);
  }
  return proof;
}

export function encodeOneStepProof(p: OneStepProof): string {
  return abi.encode([ONE_STEP_PROOF_TYPE], [p]);
}

/** Bytes of a request input as the graph's integer input (one byte per value). */
export function inputValues(bytes: Uint8Array | string): number[] {
  return Array.from(typeof bytes === "string" ? getBytes(bytes) : bytes);
}
