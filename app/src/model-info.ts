// What a manifest says about a model beyond its interface: the accuracy its builder measured
// (`verifier-gen eval --record`) and the names of its input features and classes (`verifier-gen label`).
// These are the builder's word, not part of the commitment: the page shows them as such.
import type { BuildManifest } from "../../operator/src/client-core.js";
import { manifestLabels, type Evaluation } from "../../verifier-gen/src/interface.js";

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

export function describeEvaluation(manifest: BuildManifest): string {
  const e: Evaluation | undefined = manifestLabels(manifest).evaluation;
  if (e === undefined) return "not recorded in the manifest";
  const on = `on ${e.samples} held-out rows`;
  if (e.quantizedAccuracy !== null && e.floatAccuracy !== null) {
    return `${pct(e.quantizedAccuracy)} verifiable (float model ${pct(e.floatAccuracy)}) ${on}`;
  }
  if (e.maeQuantized !== null && e.maeFloat !== null) {
    return `mean absolute error ${e.maeQuantized.toFixed(3)} verifiable (float ${e.maeFloat.toFixed(3)}) ${on}`;
  }
  if (e.meanCosine !== null) return `mean cosine ${e.meanCosine.toFixed(4)} to the float model ${on}`;
  return `evaluated ${on}`;
}

/** A name for input value `i` (the manifest's feature name, else x[i]). */
export function inputName(manifest: BuildManifest, i: number): string {
  return manifestLabels(manifest).inputNames?.[i] ?? `x[${i}]`;
}

/** A name for class `k`. */
export function className(manifest: BuildManifest, k: number): string {
  return manifestLabels(manifest).classNames?.[k] ?? String(k);
}
