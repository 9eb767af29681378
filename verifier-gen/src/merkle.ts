/**
 * The commitments of veriml (format 3): the model commitment `modelHash` and the execution-trace
 * commitment of optimistic mode and of the arbitration game. contracts/modules/optimistic/TraceMerkle.sol
 * is the on-chain mirror of this file; both must change together.
 *
 * Every hash is domain-separated by a one-byte tag, so no value of one kind can pose as another
 * (an inner node as a leaf, an element-tree node as a tensor, a trace node as a model node):
 *
 *   element leaf  = keccak256(0x00 ‖ int256 value)                                   33 bytes
 *   tensor node   = keccak256(0x01 ‖ left ‖ right)                                   65 bytes
 *   tensor leaf   = keccak256(0x02 ‖ uint32 tensor ‖ uint32 size ‖ bytes32 elementRoot)  41 bytes
 *   trace node    = keccak256(0x03 ‖ left ‖ right)
 *   model leaf    = keccak256(0x04 ‖ uint32 node ‖ uint32 param ‖ uint32 index ‖ int256 value)  45 bytes
 *   model node    = keccak256(0x05 ‖ left ‖ right)
 *   modelHash     = keccak256(0x06 ‖ uint32 leafCount ‖ bytes32 paramRoot ‖ bytes32 tensorsHash)
 *   tensorsHash   = keccak256(abi.encodePacked(uint32[] tensorSizes))  (each size in a 32-byte word)
 *
 * Trees are binary, padded with bytes32(0) leaves to a power of two (no tagged hash is ever zero),
 * and a leaf at position p is the left child at level d when bit d of p is 0. A tree of n leaves has
 * depth ceil(log2 n) and every path is checked at exactly that length. The trace tree has one leaf per
 * tensor (tensor 0 = the quantized input, tensor i + 1 = the output of node i); each tensor leaf binds
 * its index, its element count and the root of its element tree. The model tree has one leaf per
 * integer of the canonical integer graph (`leafValues`); `modelHash` also binds the leaf count (so the
 * depth of every model path) and the element count of every tensor (so the shapes the optimistic
 * one-step checks against are the model's own).
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { concat, keccak256, toBeHex, zeroPadValue } from "ethers";
import { OUTPUT_KINDS, outputMeaning } from "./interface.js";
import { nodeInputIds, tensorSizes, type IntGraph, type IntNode } from "./intgraph.js";

/** Version of the commitment format, the first leaf of every model tree. */
export const COMMITMENT_VERSION = 3;

export const TAG = {
  ELEMENT_LEAF: 0x00,
  TENSOR_NODE: 0x01,
  TENSOR_LEAF: 0x02,
  TRACE_NODE: 0x03,
  MODEL_LEAF: 0x04,
  MODEL_NODE: 0x05,
  MODEL_ROOT: 0x06,
} as const;
export type NodeTag = typeof TAG.TENSOR_NODE | typeof TAG.TRACE_NODE | typeof TAG.MODEL_NODE;

export const GRAPH_NODE = 0xffffffff;
/** Opcode of each op; a gather's depends on its input count, a softmax's on its mask (`opcodeOf`). */
export const OPCODES: Record<IntNode["op"], number> = {
  dense: 1,
  conv2d: 2,
  requant: 3,
  relu: 4,
  clamp: 5,
  leakyrelu: 6,
  maxpool: 7,
  sumpool: 8,
  add: 9,
  affine: 10,
  reshape: 11,
  argmax: 12,
  lut: 13,
  /** a softmax without a mask (with one: MASKED_SOFTMAX_OPCODE) */
  softmax: 14,
  /** a gather of one input (of two: GATHER2_OPCODE) */
  gather: 15,
  matmul: 17,
  normalize: 18,
  embed: 19,
};
/** A gather of two inputs (their concatenation). */
export const GATHER2_OPCODE = 16;
/** A softmax with a constant mask (causal attention): it also commits the mask (PARAMS.MASK). */
export const MASKED_SOFTMAX_OPCODE = 20;

/**
 * The committed opcode of a node: the executor derives from it how many inputs the node reads and, for a
 * softmax, whether it reads a mask (an unmasked softmax keeps opcode 14 and its leaves).
 */
export function opcodeOf(n: IntNode): number {
  if (n.op === "softmax") return n.mask === undefined ? OPCODES.softmax : MASKED_SOFTMAX_OPCODE;
  if (n.op !== "gather") return OPCODES[n.op];
  if (n.inputs.length === 1) return OPCODES.gather;
  if (n.inputs.length === 2) return GATHER2_OPCODE;
  throw new RangeError(`gather ${n.name} has ${n.inputs.length} inputs, not 1 or 2`);
}
export const PARAMS = {
  // graph header (node = 0xffffffff)
  FORMAT_VERSION: 0,
  BITS: 1,
  INPUT_SHAPE: 2,
  INPUT_RANGE: 3,
  INPUT_SCALE_F64: 4,
  OUTPUT: 5,
  OUTPUT_SCALE_F64: 6,
  NODE_COUNT: 7,
  /** [bytes per value, signed (0/1)]: how the request's input bytes encode the quantized input */
  INPUT_ENCODING: 8,
  /** [index in OUTPUT_KINDS]: what the output values are (format 3) */
  OUTPUT_KIND: 9,
  // per node
  OPCODE: 0,
  INPUTS: 1,
  SHAPE: 2,
  WEIGHT: 3,
  BIAS: 4,
  MULT: 5,
  SHIFT: 6,
  RANGE: 7,
  GEOMETRY: 8,
  DENSE_DIMS: 9,
  ADD_COEFFS: 10,
  AFFINE_MUL: 11,
  AFFINE_ADD: 12,
  /** [m, inner] (+ [adds] for affine): per-channel constants have m entries; element e is in channel floor(e / inner) % m */
  CHANNELS: 13,
  /** a function table: entry k is the output for input lo + k (lut) */
  TABLE: 14,
  /** [row length n, output steps out] (softmax) */
  SOFTMAX: 15,
  /** the flat input position of each output element, -1 = the constant 0 (gather) */
  INDEX: 16,
  /** [batch, m, k, n] (matmul) */
  MATMUL: 17,
  /** [row length n, center (0/1), eps, R] (normalize; with MULT [mult], SHIFT [shift], RANGE [lo, hi]) */
  NORMALIZE: 18,
  /** [width] (embed; with RANGE [lo, hi] and TABLE, row k = the output row of id lo + k) */
  EMBED: 19,
  /** one 0/1 per element, flat; element e is left out of its row when 0 (masked softmax, opcode 20) */
  MASK: 20,
} as const;

export const ZERO_HASH = "0x" + "00".repeat(32);
const tagByte = (tag: number) => "0x" + tag.toString(16).padStart(2, "0");
const word = (v: bigint | number) => zeroPadValue(toBeHex(BigInt.asUintN(256, BigInt(v))), 32);
const u32 = (v: number) => zeroPadValue(toBeHex(v >>> 0), 4);
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function f64bits(x: number): bigint {
  // DataView, not Buffer: the commitment is recomputed in the browser too (the web app checks builds).
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x, false);
  return view.getBigUint64(0, false);
}

// ------------------------------------------------------------------ hashes

// Trees over a million weights hash millions of times: these work on bytes (noble's keccak) and convert hex once.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  NIBBLE["0123456789abcdef".charCodeAt(i)] = i;
  NIBBLE["0123456789ABCDEF".charCodeAt(i)] = i;
}
function toHex(b: Uint8Array): string {
  let s = "0x";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}
/** Writes a 0x-prefixed 32-byte hex word into buf at off. */
function putHash(buf: Uint8Array, off: number, hex: string): void {
  if (hex.length !== 66) throw new RangeError(`not a 32-byte hash: ${hex}`);
  for (let i = 0; i < 32; i++) {
    const hi = NIBBLE[hex.charCodeAt(2 + 2 * i)]!,
      lo = NIBBLE[hex.charCodeAt(3 + 2 * i)]!;
    if (hi < 0 || lo < 0) throw new RangeError(`not a 32-byte hash: ${hex}`);
    buf[off + i] = (hi << 4) | lo;
  }
}
function putU32(buf: Uint8Array, off: number, v: number): void {
  const x = v >>> 0;
  buf[off] = x >>> 24;
  buf[off + 1] = (x >>> 16) & 0xff;
  buf[off + 2] = (x >>> 8) & 0xff;
  buf[off + 3] = x & 0xff;
}
const SMALL = 1n << 47n;
/** A two's-complement int256 word (big-endian) at off. */
function putWord(buf: Uint8Array, off: number, v: bigint): void {
  if (v >= -SMALL && v < SMALL) {
    // The usual case (weights, activations): 48 bits in a double, sign-extended.
    let n = Number(v);
    if (n < 0) {
      buf.fill(0xff, off, off + 26);
      n += 2 ** 48;
    }
    for (let i = 31; i >= 26; i--) {
      buf[off + i] = n % 256;
      n = Math.floor(n / 256);
    }
    return;
  }
  let x = BigInt.asUintN(256, v);
  for (let i = 31; i >= 0 && x !== 0n; i--) {
    buf[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

export function hashNode(tag: NodeTag, left: string, right: string): string {
  const b = new Uint8Array(65);
  b[0] = tag;
  putHash(b, 1, left);
  putHash(b, 33, right);
  return toHex(keccak_256(b));
}

export function elementLeaf(value: number | bigint): string {
  const b = new Uint8Array(33);
  b[0] = TAG.ELEMENT_LEAF;
  putWord(b, 1, BigInt(value));
  return toHex(keccak_256(b));
}

export function tensorLeaf(tensor: number, size: number, elementRoot: string): string {
  return keccak256(concat([tagByte(TAG.TENSOR_LEAF), u32(tensor), u32(size), elementRoot]));
}

export interface Leaf {
  node: number;
  param: number;
  index: number;
  value: bigint;
}

export function encodeLeaf(l: Leaf): Uint8Array {
  const b = new Uint8Array(45);
  b[0] = TAG.MODEL_LEAF;
  putU32(b, 1, l.node);
  putU32(b, 5, l.param);
  putU32(b, 9, l.index);
  putWord(b, 13, l.value);
  return b;
}

export function hashLeaf(l: Leaf): string {
  return toHex(keccak_256(encodeLeaf(l)));
}

export function tensorsHash(sizes: readonly number[]): string {
  return keccak256(concat(sizes.map((s) => word(s))));
}

export function modelRoot(leafCount: number, paramRoot: string, sizes: readonly number[]): string {
  return keccak256(concat([tagByte(TAG.MODEL_ROOT), u32(leafCount), paramRoot, tensorsHash(sizes)]));
}

// ------------------------------------------------------------------ trees

/** ceil(log2 n) for n >= 1: the depth of a tree over n leaves. */
export function depthFor(n: number): number {
  let d = 0;
  while (2 ** d < n) d++;
  return d;
}

/** Full tree levels: levels[0] = leaf hashes (padded with zeros to a power of two), last = [root]. */
export function merkleLevels(leafHashes: readonly string[], tag: NodeTag): string[][] {
  const size = 2 ** depthFor(Math.max(1, leafHashes.length));
  const level0 = [...leafHashes];
  while (level0.length < size) level0.push(ZERO_HASH);
  const levels = [level0];
  while (levels[levels.length - 1]!.length > 1) {
    const prev = levels[levels.length - 1]!;
    const next: string[] = [];
    for (let i = 0; i < prev.length; i += 2) next.push(hashNode(tag, prev[i]!, prev[i + 1]!));
    levels.push(next);
  }
  return levels;
}

export const rootOf = (levels: readonly string[][]): string => levels[levels.length - 1]![0]!;

/**
 * Siblings that prove the contiguous run of leaves [start, start + count) against the root, in the
 * order TraceMerkle.runRoot consumes them: level by level from the bottom, at each level the left
 * neighbour of the run (when the run starts on a right child) before the right neighbour (when it
 * ends on a left child). A single leaf's proof is its ordinary sibling path.
 */
export function rangeProof(levels: readonly string[][], start: number, count: number): string[] {
  if (count < 1 || start < 0 || start + count > levels[0]!.length) {
    throw new RangeError(`run [${start}, ${start + count}) is outside a tree of ${levels[0]!.length} leaves`);
  }
  const out: string[] = [];
  let a = start;
  let b = start + count - 1;
  for (let d = 0; d < levels.length - 1; d++) {
    if (a & 1) out.push(levels[d]![a - 1]!);
    if (!(b & 1)) out.push(levels[d]![b + 1]!);
    a >>= 1;
    b >>= 1;
  }
  return out;
}

/** Root reached from a run of leaf hashes (mirror of TraceMerkle.runRoot); null when malformed. */
export function runRoot(
  leaves: readonly string[],
  start: number,
  depth: number,
  siblings: readonly string[],
  tag: NodeTag,
): string | null {
  if (leaves.length === 0 || start + leaves.length > 2 ** depth) return null;
  let nodes = [...leaves];
  let a = start;
  let k = 0;
  for (let d = 0; d < depth; d++) {
    const b = a + nodes.length - 1;
    const pa = a >> 1;
    const next: string[] = [];
    for (let pos = pa; pos <= b >> 1; pos++) {
      const l = 2 * pos < a ? siblings[k++] : nodes[2 * pos - a];
      const r = 2 * pos + 1 > b ? siblings[k++] : nodes[2 * pos + 1 - a];
      if (l === undefined || r === undefined) return null;
      next.push(hashNode(tag, l, r));
    }
    nodes = next;
    a = pa;
  }
  return k === siblings.length && nodes.length === 1 ? nodes[0]! : null;
}

// ------------------------------------------------------------------ model commitment

/** How the request's input bytes encode the quantized input: the narrowest big-endian integer that holds [lo, hi]. */
export function inputEncoding(lo: number, hi: number): { bytes: number; signed: boolean } {
  const signed = lo < 0;
  for (let bytes = 1; bytes <= 4; bytes++) {
    const bits = 8 * bytes;
    const min = signed ? -(2 ** (bits - 1)) : 0;
    const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    if (lo >= min && hi <= max) return { bytes, signed };
  }
  throw new RangeError(`input range [${lo}, ${hi}] does not fit in 4 bytes`);
}

/** All leaves of the model commitment, in canonical order. */
export function leafValues(g: IntGraph): Leaf[] {
  const leaves: Leaf[] = [];
  const put = (node: number, param: number, vals: readonly (number | bigint)[]) =>
    vals.forEach((v, index) => leaves.push({ node, param, index, value: BigInt(v) }));
  const G = GRAPH_NODE;
  const enc = inputEncoding(g.input.lo, g.input.hi);
  put(G, PARAMS.FORMAT_VERSION, [COMMITMENT_VERSION]);
  put(G, PARAMS.BITS, [g.bits]);
  put(G, PARAMS.INPUT_SHAPE, g.input.shape);
  put(G, PARAMS.INPUT_RANGE, [g.input.lo, g.input.hi]);
  put(G, PARAMS.INPUT_SCALE_F64, [f64bits(g.input.scale)]);
  put(G, PARAMS.OUTPUT, [g.output.kind === "argmax" ? 1 : 0, g.output.tensor, g.output.logits]);
  put(G, PARAMS.OUTPUT_SCALE_F64, g.output.scale.map(f64bits));
  put(G, PARAMS.NODE_COUNT, [g.nodes.length]);
  put(G, PARAMS.INPUT_ENCODING, [enc.bytes, enc.signed ? 1 : 0]);
  put(G, PARAMS.OUTPUT_KIND, [OUTPUT_KINDS.indexOf(outputMeaning(g))]);
  const shapeOf = (id: number) => (id === 0 ? g.input.shape : g.nodes[id - 1]!.shape);
  const channels = (m: number, s: readonly number[]) => {
    if (m !== 1 && m !== s[1]) throw new RangeError(`per-channel vector of ${m} for a tensor of shape [${s}]`);
    return [m, m === 1 ? 1 : s.slice(2).reduce((a, b) => a * b, 1)];
  };
  g.nodes.forEach((n, i) => {
    put(i, PARAMS.OPCODE, [opcodeOf(n)]);
    put(i, PARAMS.INPUTS, nodeInputIds(n));
    put(i, PARAMS.SHAPE, n.shape);
    switch (n.op) {
      case "dense":
        put(i, PARAMS.DENSE_DIMS, [n.inF, n.outF]);
        put(i, PARAMS.WEIGHT, n.weight);
        put(i, PARAMS.BIAS, n.bias);
        break;
      case "conv2d":
        put(i, PARAMS.GEOMETRY, [...n.inShape, ...n.outShape, ...n.kernel, ...n.strides, ...n.pads]);
        put(i, PARAMS.WEIGHT, n.weight);
        put(i, PARAMS.BIAS, n.bias);
        break;
      case "requant":
        put(i, PARAMS.CHANNELS, channels(n.mult.length, n.shape));
        put(i, PARAMS.MULT, n.mult);
        put(i, PARAMS.SHIFT, n.shift);
        put(i, PARAMS.RANGE, [n.lo, n.hi]);
        break;
      case "clamp":
        put(i, PARAMS.RANGE, [n.lo, n.hi]);
        break;
      case "lut":
      case "softmax": {
        // INVARIANT: a table has one entry per input value (or difference) of [lo, hi], which the one-step reads.
        const entries = (n.op === "lut" ? n.table : n.exp).length;
        if (entries !== n.hi - n.lo + 1)
          throw new RangeError(`${n.op} ${n.name} has ${entries} table entries for the range [${n.lo}, ${n.hi}]`);
        if (n.op === "lut") {
          put(i, PARAMS.RANGE, [n.lo, n.hi]);
          put(i, PARAMS.TABLE, n.table);
          break;
        }
        put(i, PARAMS.RANGE, [n.lo, n.hi]);
        put(i, PARAMS.TABLE, n.exp);
        put(i, PARAMS.SOFTMAX, [n.n, n.out]);
        if (n.mask !== undefined) {
          // INVARIANT: every element has its mask leaf (the one-step of element e reads the mask of e's whole row).
          if (n.mask.length !== prod(n.shape)) {
            throw new RangeError(`softmax ${n.name} has ${n.mask.length} mask entries for ${prod(n.shape)} elements`);
          }
          put(i, PARAMS.MASK, n.mask);
        }
        break;
      }
      case "leakyrelu":
        put(i, PARAMS.MULT, [n.mult]);
        put(i, PARAMS.SHIFT, [n.shift]);
        break;
      case "maxpool":
      case "sumpool":
        put(i, PARAMS.GEOMETRY, [...n.inShape, ...n.outShape, ...n.kernel, ...n.strides, ...n.pads]);
        break;
      case "add":
        put(i, PARAMS.ADD_COEFFS, [n.ma, n.mb]);
        break;
      case "affine":
        put(i, PARAMS.CHANNELS, [
          ...(n.inner === undefined || n.mul.length === 1
            ? channels(n.mul.length, shapeOf(n.input))
            : [n.mul.length, n.inner]),
          n.add.length === 1 ? 1 : n.mul.length,
        ]);
        put(i, PARAMS.AFFINE_MUL, n.mul);
        put(i, PARAMS.AFFINE_ADD, n.add);
        break;
      case "gather":
        // INVARIANT: every output element has its index leaf (the one-step of element e reads INDEX[e]).
        if (n.index.length !== prod(n.shape)) {
          throw new RangeError(`gather ${n.name} has ${n.index.length} indices for ${prod(n.shape)} outputs`);
        }
        put(i, PARAMS.INDEX, n.index);
        break;
      case "matmul":
        put(i, PARAMS.MATMUL, [n.batch, n.m, n.k, n.n]);
        break;
      case "normalize":
        put(i, PARAMS.NORMALIZE, [n.n, n.center ? 1 : 0, n.eps, n.R]);
        put(i, PARAMS.MULT, [n.mult]);
        put(i, PARAMS.SHIFT, [n.shift]);
        put(i, PARAMS.RANGE, [n.lo, n.hi]);
        break;
      case "embed":
        // INVARIANT: every id in [lo, hi] has its whole table row (the one-step reads the entry of its id).
        if (n.table.length !== (n.hi - n.lo + 1) * n.width) {
          throw new RangeError(
            `embed ${n.name} has ${n.table.length} table entries, not ${n.hi - n.lo + 1} rows of ${n.width}`,
          );
        }
        put(i, PARAMS.EMBED, [n.width]);
        put(i, PARAMS.RANGE, [n.lo, n.hi]);
        put(i, PARAMS.TABLE, n.table);
        break;
      case "relu":
      case "reshape":
      case "argmax":
        break;
    }
  });
  return leaves;
}

export interface ModelCommitment {
  modelHash: string;
  /** Root of the model tree (one leaf per integer parameter). */
  paramRoot: string;
  leafCount: number;
  depth: number;
  /** Elements of each tensor (tensor 0 = the input), bound by modelHash. */
  tensorSizes: number[];
}

export function modelCommitment(g: IntGraph): ModelCommitment {
  // INVARIANT: the model output is the last tensor: the one every mode delivers and commits.
  if (g.output.tensor !== g.nodes.length) {
    throw new RangeError(`graph output is tensor ${g.output.tensor}, not the last tensor ${g.nodes.length}`);
  }
  // The root straight from bytes (the same tree as merkleLevels over hashLeaf): a million weights in seconds.
  const leaves = leafValues(g);
  const depth = depthFor(Math.max(1, leaves.length));
  const level = new Uint8Array(32 * 2 ** depth);
  leaves.forEach((l, i) => level.set(keccak_256(encodeLeaf(l)), 32 * i));
  const pair = new Uint8Array(65);
  pair[0] = TAG.MODEL_NODE;
  for (let width = 2 ** depth; width > 1; width /= 2) {
    for (let i = 0; i < width / 2; i++) {
      pair.set(level.subarray(64 * i, 64 * i + 64), 1);
      level.set(keccak_256(pair), 32 * i);
    }
  }
  const paramRoot = toHex(level.subarray(0, 32));
  const sizes = tensorSizes(g);
  return {
    modelHash: modelRoot(leaves.length, paramRoot, sizes),
    paramRoot,
    leafCount: leaves.length,
    depth,
    tensorSizes: sizes,
  };
}

/** The model tree of a graph, indexed by (node, param, index), with range proofs for runs of leaves. */
export class ModelTree {
  private readonly levels: string[][];
  private readonly positions = new Map<string, number>();
  readonly leaves: Leaf[];
  readonly commitment: ModelCommitment;

  constructor(graph: IntGraph) {
    this.leaves = leafValues(graph);
    this.levels = merkleLevels(this.leaves.map(hashLeaf), TAG.MODEL_NODE);
    this.commitment = modelCommitment(graph);
    this.leaves.forEach((l, i) => this.positions.set(`${l.node >>> 0}:${l.param}:${l.index}`, i));
  }

  get modelHash(): string {
    return this.commitment.modelHash;
  }

  /** Leaf position of (node, param, index). */
  position(node: number, param: number, index: number): number {
    const p = this.positions.get(`${node >>> 0}:${param}:${index}`);
    if (p === undefined) throw new RangeError(`model has no leaf (node ${node}, param ${param}, index ${index})`);
    return p;
  }

  /** The run of `count` leaves of (node, param) from `index`: values, first position and range proof. */
  run(node: number, param: number, index: number, count: number): ModelRun {
    const position = this.position(node, param, index);
    const last = this.position(node, param, index + count - 1);
    if (last !== position + count - 1) throw new RangeError(`leaves of (${node}, ${param}) are not contiguous`);
    return {
      param,
      index,
      position,
      values: this.leaves.slice(position, position + count).map((l) => l.value),
      siblings: rangeProof(this.levels, position, count),
    };
  }
}

/** A run of model leaves as the one-step executor reads it (IOneStepExecutor.ParamRun). */
export interface ModelRun {
  param: number;
  index: number;
  position: number;
  values: bigint[];
  siblings: string[];
}
