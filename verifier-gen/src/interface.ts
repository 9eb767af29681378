/**
 * A model's interface: what its input means and how it is encoded on chain, what its output is and how
 * to read it. Defined once, from a build's manifest, and read by the CLI, the client, the operator and the
 * page alike: floats in the model's own input space are quantized here, and outputs are decoded and
 * dequantized here.
 */
import { InputError } from "./errors.js";
import { getBytes } from "ethers";
import { decodeInputRaw, decodeOutput, encodeInputBytes } from "./encoding.js";

/** What the output values are. `label`: one value, the class (an ArgMax graph); the others are tensors. */
export const OUTPUT_KINDS = ["label", "logits", "probabilities", "values", "embedding"] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

/** What a graph's output means, as its commitment binds it (the default for graphs that do not say). */
export function outputMeaning(g: { output: { kind: "argmax" | "tensor"; meaning?: OutputKind } }): OutputKind {
  const meaning = g.output.meaning ?? (g.output.kind === "argmax" ? "label" : "values");
  if (!OUTPUT_KINDS.includes(meaning)) throw new InputError(`unknown output kind "${String(meaning)}"`);
  if ((meaning === "label") !== (g.output.kind === "argmax")) {
    throw new InputError(`output kind ${meaning} does not fit a graph whose output is ${g.output.kind}`);
  }
  return meaning;
}

export interface ModelInterface {
  input: {
    shape: number[];
    /** A float x is the integer q = clamp(floor(x / scale + 1/2), lo, hi). */
    scale: number;
    lo: number;
    hi: number;
    /** On chain: one big-endian integer of `bytes` bytes per value, two's complement when signed. */
    encoding: { bytes: number; signed: boolean };
  };
  output: {
    kind: OutputKind;
    /** Number of values in the output (1 for a label). */
    count: number;
    /** Dequantization: value i is q_i * scale[i] (one scale for all when there is one). Unused for labels. */
    scale: number[];
    /** Classes of a classifier (label, logits, probabilities); 0 otherwise. */
    classes: number;
  };
}

/** The interface part of a build manifest (verifier-gen/src/pipeline.ts writes it). */
export interface ManifestInterfaceFields {
  input: ModelInterface["input"];
  output: { kind: OutputKind; count: number; scale: number[]; classes: number };
}

export function interfaceOf(manifest: ManifestInterfaceFields): ModelInterface {
  const { shape, scale, lo, hi, encoding } = manifest.input;
  const { kind, count, scale: outScale, classes } = manifest.output;
  if (!OUTPUT_KINDS.includes(kind)) throw new InputError(`unknown output kind "${String(kind)}"`);
  return {
    input: { shape: [...shape], scale, lo, hi, encoding: { ...encoding } },
    output: { kind, count, scale: [...outScale], classes },
  };
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The float range an input value may take without being clipped: [lo * scale, hi * scale]. */
export function inputFloatRange(i: ModelInterface): { min: number; max: number } {
  return { min: i.input.lo * i.input.scale, max: i.input.hi * i.input.scale };
}

/**
 * Floats in the model's own input space -> the quantized integers and the request's input bytes.
 * Refuses (InputError naming the index and the allowed range) a wrong count, a non-finite value, or a value
 * the model's range would clip by more than half a step: such a request would not mean what was asked.
 */
export function quantizeFloatInput(i: ModelInterface, xs: readonly number[]): { q: number[]; bytes: Uint8Array } {
  const n = prod(i.input.shape);
  if (xs.length !== n) {
    throw new InputError(`input has ${xs.length} values, the model takes ${n} (shape [${i.input.shape.join(", ")}])`);
  }
  const { scale, lo, hi } = i.input;
  const { min, max } = inputFloatRange(i);
  const q = xs.map((x, k) => {
    if (typeof x !== "number" || !Number.isFinite(x))
      throw new InputError(`input value ${String(x)} at index ${k} is not a finite number`);
    const v = Math.floor(x / scale + 0.5);
    if (v < lo || v > hi) {
      throw new InputError(
        `input value ${x} at index ${k} is outside the model's range [${min.toPrecision(6)}, ${max.toPrecision(6)}]`,
      );
    }
    return v;
  });
  return { q, bytes: encodeQuantized(i, q) };
}

/** Quantized integers -> the request's input bytes (refusing values outside [lo, hi]). */
export function encodeQuantized(i: ModelInterface, q: readonly number[]): Uint8Array {
  return encodeInputBytes(i, q);
}

export interface DecodedOutput {
  kind: OutputKind;
  /** The quantized values as settled on chain. */
  quantized: bigint[];
  /** Each value dequantized (for a label: the label itself). */
  values: number[];
  /** The class: the label, or the first maximum of logits or probabilities. */
  label?: number;
}

/** Decodes a settled output (`abi.encode(int256[])`) with the model's interface. */
export function decodeModelOutput(i: ModelInterface, output: string): DecodedOutput {
  const quantized = decodeOutput(output);
  if (quantized.length !== i.output.count) {
    throw new InputError(`output has ${quantized.length} values, the model's interface says ${i.output.count}`);
  }
  const { kind, scale } = i.output;
  if (kind === "label") return { kind, quantized, values: quantized.map(Number), label: Number(quantized[0]) };
  const values = quantized.map((q, k) => Number(q) * (scale.length === quantized.length ? scale[k]! : scale[0]!));
  const decoded: DecodedOutput = { kind, quantized, values };
  if (kind === "logits" || kind === "probabilities") {
    // On the dequantized values: with per-class scales the largest integer need not be the largest value.
    let best = 0;
    for (let k = 1; k < values.length; k++) if (values[k]! > values[best]!) best = k;
    decoded.label = best;
  }
  return decoded;
}

/** A request's input bytes -> the quantized integers and the floats they stand for (q * scale). */
export function decodeInputValues(i: ModelInterface, input: string): { quantized: number[]; values: number[] } {
  const { shape, scale, lo, hi } = i.input;
  const quantized = decodeInputRaw(
    { input: { shape, scale, lo, hi } } as Parameters<typeof decodeInputRaw>[0],
    getBytes(input),
  );
  return { quantized, values: quantized.map((q) => q * i.input.scale) };
}

/**
 * What the builder measured, as `verifier-gen eval --record` writes it into the manifest: the float model and
 * the verifiable (quantized) one on a held-out dataset. Null where the metric does not apply to the output kind.
 */
export interface Evaluation {
  dataset: string;
  samples: number;
  floatAccuracy: number | null;
  quantizedAccuracy: number | null;
  agreement: number | null;
  maeFloat: number | null;
  maeQuantized: number | null;
  meanCosine: number | null;
  bitexact: boolean;
}

/**
 * Labels a manifest may carry for people: input feature names, class names (`verifier-gen label`) and the
 * recorded evaluation. None of them is committed by the modelHash (they change no number the chain checks):
 * they are the builder's word, and a page shows them as such. Malformed or mis-sized labels are dropped.
 */
export interface ManifestLabels {
  inputNames?: string[];
  classNames?: string[];
  evaluation?: Evaluation;
}

const stringList = (v: unknown, n: number): string[] | undefined =>
  Array.isArray(v) && v.length === n && v.every((s) => typeof s === "string" && s.length > 0 && s.length <= 64)
    ? (v as string[])
    : undefined;

export function manifestLabels(manifest: {
  input?: { shape?: number[]; names?: unknown };
  output?: { classes?: number; names?: unknown };
  evaluation?: unknown;
}): ManifestLabels {
  const labels: ManifestLabels = {};
  const inputs = prod(manifest.input?.shape ?? []);
  const inputNames = stringList(manifest.input?.names, inputs);
  if (inputNames) labels.inputNames = inputNames;
  const classNames = stringList(manifest.output?.names, manifest.output?.classes ?? 0);
  if (classNames) labels.classNames = classNames;
  const e = manifest.evaluation as Partial<Evaluation> | undefined;
  if (typeof e === "object" && e !== null && typeof e.samples === "number" && typeof e.dataset === "string") {
    const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : null);
    labels.evaluation = {
      dataset: e.dataset,
      samples: e.samples,
      floatAccuracy: num(e.floatAccuracy),
      quantizedAccuracy: num(e.quantizedAccuracy),
      agreement: num(e.agreement),
      maeFloat: num(e.maeFloat),
      maeQuantized: num(e.maeQuantized),
      meanCosine: num(e.meanCosine),
      bitexact: e.bitexact === true,
    };
  }
  return labels;
}
