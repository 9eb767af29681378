/**
 * The moves of an optimistic dispute game, computed from a party's own trace commitment and the
 * game state read from the chain (IOptimisticModule.Game). Pure: no chain access.
 */
import { TAG, hashNode } from "../../../verifier-gen/src/merkle.js";
import {
  buildOneStepProof,
  descendants,
  firstDifference,
  TraceError,
  type Levels,
  type ModelTree,
  type OneStepProof,
  type TraceCommitment,
} from "./trace.js";
import type { IntGraph } from "../../../verifier-gen/src/intgraph.js";

export const Phase = { None: 0, Trace: 1, Tensor: 2, OneStep: 3, Resolved: 4 } as const;
export const Outcome = { Open: 0, OperatorWon: 1, ChallengerWon: 2, Cancelled: 3 } as const;

/** The fields of IOptimisticModule.Game the moves depend on. */
export interface GameState {
  phase: number;
  operatorToMove: boolean;
  level: number;
  tensor: number;
  position: number;
}

/** One ChildrenRevealed event of a game. */
export interface Reveal {
  level: number;
  position: number;
  children: string[];
}

/** The tree under dispute in the current phase. */
export function disputedTree(c: Pick<TraceCommitment, "traceLevels" | "tensorLevels">, g: GameState): Levels {
  if (g.phase === Phase.Trace) return c.traceLevels;
  if (g.phase === Phase.Tensor) return c.tensorLevels[g.tensor]!;
  throw new TraceError(`no tree is under dispute in phase ${g.phase}`);
}

/** Operator move: the descendants of the disputed node in its own tree. */
export function operatorReveal(c: Pick<TraceCommitment, "traceLevels" | "tensorLevels">, g: GameState): string[] {
  return descendants(disputedTree(c, g), g.level, g.position);
}

/** Challenger move: the leftmost revealed descendant that differs from the correct trace (-1: none). */
export function challengerPick(
  correct: Pick<TraceCommitment, "traceLevels" | "tensorLevels">,
  g: GameState,
  revealed: readonly string[],
): number {
  return firstDifference(revealed, descendants(disputedTree(correct, g), g.level, g.position));
}

/**
 * The operator's trace tree as far as the challenger can know it: the correct tree with every node
 * the operator revealed in phase 1 written over it (nodes left of the disputed path are agreed, so
 * the sibling paths of the disputed node's inputs are exact).
 */
export function patchedTraceLevels(correct: Levels, reveals: readonly Reveal[]): Levels {
  const levels = correct.map((row) => [...row]);
  const depth = levels.length - 1;
  for (const r of reveals) {
    const m = Math.log2(r.children.length);
    const bottom = depth - r.level - m;
    r.children.forEach((h, i) => (levels[bottom]![(r.position << m) + i] = h));
    for (let row = bottom + 1, span = r.children.length >> 1; row < depth - r.level; row++, span >>= 1) {
      const first = r.position * span;
      for (let q = first; q < first + span; q++) {
        levels[row]![q] = hashNode(TAG.TRACE_NODE, levels[row - 1]![2 * q]!, levels[row - 1]![2 * q + 1]!);
      }
    }
  }
  return levels;
}

/** One-step proof from the challenger's side: its correct tensors, the operator's patched trace tree. */
export function challengerOneStep(
  graph: IntGraph,
  model: ModelTree,
  correct: TraceCommitment,
  phase1Reveals: readonly Reveal[],
  tensor: number,
  element: number,
  input: Uint8Array,
): OneStepProof {
  const view = { ...correct, traceLevels: patchedTraceLevels(correct.traceLevels, phase1Reveals) };
  return buildOneStepProof(graph, model, view, tensor, element, input);
}
