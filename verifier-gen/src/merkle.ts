/**
 * modelHash: a keccak256 Merkle root over the integer graph's parameters, one leaf per
 * integer value, so an on-chain one-step check can prove any single weight / bias /
 * multiplier / shift / shape entry against the registered modelHash.
 *
 * leaf   = keccak256(abi.encodePacked(uint32 node, uint32 param, uint32 index, int256 value))  (44 bytes)
 * parent = keccak256(abi.encodePacked(bytes32 left, bytes32 right))                           (64 bytes)
 * Leaves are ordered as listed by `leafValues`; the list is padded with bytes32(0) to a power
 * of two; modelHash = root. See verifier-gen/README.md for the table of params.
 */
import { concat, getBytes, keccak256, toBeHex, zeroPadValue } from "ethers";
import type { IntGraph, IntNode } from "./intgraph.js";

export const GRAPH_NODE = 0xffffffff;
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
};
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
} as const;

function f64bits(x: number): bigint {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return b.readBigUInt64BE();
}

export interface Leaf {
  node: number;
  param: number;
  index: number;
  value: bigint;
}

/** All leaves of the model commitment, in canonical order. */
export function leafValues(g: IntGraph): Leaf[] {
  const leaves: Leaf[] = [];
  const put = (node: number, param: number, vals: readonly (number | bigint)[]) =>
    vals.forEach((v, index) => leaves.push({ node, param, index, value: BigInt(v) }));
  const G = GRAPH_NODE;
  put(G, PARAMS.FORMAT_VERSION, [g.version]);
  put(G, PARAMS.BITS, [g.bits]);
  put(G, PARAMS.INPUT_SHAPE, g.input.shape);
  put(G, PARAMS.INPUT_RANGE, [g.input.lo, g.input.hi]);
  put(G, PARAMS.INPUT_SCALE_F64, [f64bits(g.input.scale)]);
  put(G, PARAMS.OUTPUT, [g.output.kind === "argmax" ? 1 : 0, g.output.tensor, g.output.logits]);
  put(G, PARAMS.OUTPUT_SCALE_F64, g.output.scale.map(f64bits));
  put(G, PARAMS.NODE_COUNT, [g.nodes.length]);
  g.nodes.forEach((n, i) => {
    put(i, PARAMS.OPCODE, [OPCODES[n.op]]);
    put(i, PARAMS.INPUTS, n.op === "add" ? n.inputs : [n.input]);
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
        put(i, PARAMS.MULT, n.mult);
        put(i, PARAMS.SHIFT, n.shift);
        put(i, PARAMS.RANGE, [n.lo, n.hi]);
        break;
      case "clamp":
        put(i, PARAMS.RANGE, [n.lo, n.hi]);
        break;
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
        put(i, PARAMS.AFFINE_MUL, n.mul);
        put(i, PARAMS.AFFINE_ADD, n.add);
        break;
      case "relu":
      case "reshape":
      case "argmax":
        break;
    }
  });
  return leaves;
}

export function encodeLeaf(l: Leaf): Uint8Array {
  const b = Buffer.alloc(44);
  b.writeUInt32BE(l.node >>> 0, 0);
  b.writeUInt32BE(l.param, 4);
  b.writeUInt32BE(l.index, 8);
  const v = BigInt.asUintN(256, l.value); // two's complement int256
  b.set(getBytes(zeroPadValue(toBeHex(v), 32)), 12);
  return b;
}

export function hashLeaf(l: Leaf): string {
  return keccak256(encodeLeaf(l));
}

const ZERO = "0x" + "00".repeat(32);

/** Full tree levels: levels[0] = leaf hashes (padded), last = [root]. */
export function merkleLevels(leafHashes: string[]): string[][] {
  let size = 1;
  while (size < leafHashes.length) size *= 2;
  const level0 = [...leafHashes];
  while (level0.length < size) level0.push(ZERO);
  const levels = [level0];
  while (levels[levels.length - 1]!.length > 1) {
    const prev = levels[levels.length - 1]!;
    const next: string[] = [];
    for (let i = 0; i < prev.length; i += 2) next.push(keccak256(concat([prev[i]!, prev[i + 1]!])));
    levels.push(next);
  }
  return levels;
}

export interface ModelCommitment {
  modelHash: string;
  leafCount: number;
  depth: number;
}

export function modelCommitment(g: IntGraph): ModelCommitment {
  const leaves = leafValues(g).map(hashLeaf);
  const levels = merkleLevels(leaves);
  return { modelHash: levels[levels.length - 1]![0]!, leafCount: leaves.length, depth: levels.length - 1 };
}

/** Merkle proof (sibling hashes bottom-up) of leaf number `index`. */
export function merkleProof(g: IntGraph, index: number): { leaf: Leaf; siblings: string[]; root: string } {
  const all = leafValues(g);
  const levels = merkleLevels(all.map(hashLeaf));
  const siblings: string[] = [];
  let k = index;
  for (let d = 0; d < levels.length - 1; d++) {
    siblings.push(levels[d]![k ^ 1]!);
    k >>= 1;
  }
  return { leaf: all[index]!, siblings, root: levels[levels.length - 1]![0]! };
}

export function verifyMerkleProof(leaf: Leaf, index: number, siblings: string[], root: string): boolean {
  let h = hashLeaf(leaf);
  let k = index;
  for (const s of siblings) {
    h = k & 1 ? keccak256(concat([s, h])) : keccak256(concat([h, s]));
    k >>= 1;
  }
  return h === root;
}
