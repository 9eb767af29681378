/**
 * The operator's side of the trace commitment (verifier-gen/src/merkle.ts, format 3, mirrored on chain by
 * TraceMerkle) and of the dispute moves: the descendants a party reveals, the leftmost difference a
 * challenger picks, and what an operator submits. Commitments and one-step proofs are built by
 * verifier-gen/src/onestep.ts, the one mirror of OneStepExecutor.
 */
import { AbiCoder, keccak256 } from "ethers";
import { encodeOutput } from "../../../verifier-gen/src/encoding.js";
import { ModelTree, rangeProof, rootOf } from "../../../verifier-gen/src/merkle.js";
import {
  buildOneStepProof,
  commitTensors,
  commitTrace,
  ONE_STEP_PROOF_TYPE,
  type OneStepProof,
  type TraceCommitment,
} from "../../../verifier-gen/src/onestep.js";
import { OperatorError } from "../errors.js";

export { ModelTree, buildOneStepProof, commitTensors, commitTrace, ONE_STEP_PROOF_TYPE };
export type { OneStepProof, TraceCommitment };
export { elementLeaf, tensorLeaf, ZERO_HASH } from "../../../verifier-gen/src/merkle.js";
export { tensorSizes } from "../../../verifier-gen/src/intgraph.js";

const abi = AbiCoder.defaultAbiCoder();
/** IOptimisticModule.LEVELS_PER_MOVE. */
export const LEVELS_PER_MOVE = 3;

/** A dispute step cannot be built from this trace (wrong tensor, element or op). */
export class TraceError extends OperatorError {}

/** Merkle levels: levels[0] = leaves (padded), last = [root]. */
export type Levels = string[][];

export { rootOf };

/** Sibling path (bottom-up) of leaf `index`. */
export function siblingsOf(levels: Levels, index: number): string[] {
  return rangeProof(levels, index, 1);
}

/**
 * The 2^m nodes `m` levels below the node at descent level `level` (0 = root), position `position`;
 * m = min(LEVELS_PER_MOVE, depth - level). This is what a party reveals in one move.
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

export { decodeOutput, encodeOutput } from "../../../verifier-gen/src/encoding.js";

/** The output a commitment holds (its last tensor), encoded. */
export function outputOf(c: Pick<TraceCommitment, "tensors">): string {
  return encodeOutput(c.tensors[c.tensors.length - 1]!);
}

/** keccak256 of the output: what a sampling party claims. */
export function outputHashOf(c: Pick<TraceCommitment, "tensors">): string {
  return keccak256(outputOf(c));
}

/** What the operator submits as proof: abi.encode(OptimisticProof{traceRoot, outputSiblings}). */
export function encodeSubmissionProof(c: Pick<TraceCommitment, "traceLevels" | "traceRoot" | "tensorLevels">): string {
  const last = c.tensorLevels.length - 1;
  return abi.encode(
    ["tuple(bytes32 traceRoot, bytes32[] outputSiblings)"],
    [{ traceRoot: c.traceRoot, outputSiblings: siblingsOf(c.traceLevels, last) }],
  );
}

export function encodeOneStepProof(p: OneStepProof): string {
  return abi.encode([ONE_STEP_PROOF_TYPE], [p]);
}
