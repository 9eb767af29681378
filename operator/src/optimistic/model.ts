import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { oneStepCost, type OneStepReport } from "../../../verifier-gen/src/onestep.js";
import { requireServableGraph } from "../../../verifier-gen/src/validate.js";
import { ConfigError } from "../errors.js";
import { ModelTree, tensorSizes } from "./trace.js";

const Manifest = z.object({ modelHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/) }).passthrough();
const Graph = z
  .object({ format: z.literal("veriml-intgraph"), version: z.literal(1), nodes: z.array(z.unknown()) })
  .passthrough();

/** A verifier-gen build as optimistic mode needs it: the integer graph and its commitment tree. */
export interface OptimisticModel {
  dir: string;
  graph: IntGraph;
  tree: ModelTree;
  modelHash: string;
  tensorSizes: number[];
  /** The model's worst one-step: whether every element can be disputed on chain. */
  oneStep: OneStepReport;
}

/** Loads `intgraph.json` + `manifest.json` of a build and checks the graph against the manifest's modelHash. */
export function loadOptimisticModel(dir: string): OptimisticModel {
  let graph: IntGraph;
  let modelHash: string;
  try {
    modelHash = Manifest.parse(JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"))).modelHash;
    graph = Graph.parse(JSON.parse(readFileSync(path.join(dir, "intgraph.json"), "utf8"))) as unknown as IntGraph;
  } catch (cause) {
    throw new ConfigError(`${dir} is not a readable verifier-gen build`, { cause });
  }
  const tree = new ModelTree(graph);
  if (tree.modelHash !== modelHash)
    throw new ConfigError(`${dir}: intgraph.json does not match the manifest modelHash`);
  return {
    dir,
    graph,
    tree,
    modelHash,
    tensorSizes: tensorSizes(graph),
    oneStep: oneStepCost(graph, tree.commitment.depth),
  };
}

/**
 * Refuses a model whose elements cannot all be disputed on chain exactly as this operator computes them:
 * serving it in optimistic or sampling mode would let anyone win a dispute over an element the executor
 * cannot recompute (over the gas bound, malformed by the chain's rules) or computes differently (values
 * beyond float64's exact range). The graph comes from the model owner, who is not trusted with it.
 */
export function requireDisputableGraph(graph: IntGraph, modelDepth: number, dir: string): void {
  try {
    requireServableGraph(graph, dir);
  } catch (cause) {
    throw new ConfigError(
      `${cause instanceof Error ? cause.message : String(cause)}; this model cannot be served in optimistic or sampling mode`,
      { cause },
    );
  }
  const cost = oneStepCost(graph, modelDepth);
  if (cost.executable) return;
  const w = cost.worst;
  throw new ConfigError(
    `${dir}: element ${w.element} of tensor ${w.tensor} needs ~${w.gas} gas of reads, beyond the one-step's bound; ` +
      "this model cannot be served in optimistic or sampling mode",
  );
}

export function requireDisputable(model: OptimisticModel): void {
  requireDisputableGraph(model.graph, model.tree.commitment.depth, model.dir);
}
