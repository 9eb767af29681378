import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { oneStepCost, type OneStepReport } from "../../../verifier-gen/src/onestep.js";
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
 * Refuses a model whose elements cannot all be disputed on chain: serving it in optimistic or sampling
 * mode would let anyone win a dispute over the element the executor cannot recompute.
 */
export function requireDisputable(model: OptimisticModel): void {
  if (model.oneStep.executable) return;
  const w = model.oneStep.worst;
  throw new ConfigError(
    `${model.dir}: element ${w.element} of tensor ${w.tensor} needs ~${w.gas} gas of reads, beyond the one-step's bound; ` +
      "this model cannot be served in optimistic or sampling mode",
  );
}
