/** Dataset JSON (calibration / eval / single inputs), validated with zod. */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { InputError, ShapeError } from "./errors.js";

const NestedNumbers: z.ZodType<unknown> = z.lazy(() => z.union([z.number(), z.array(NestedNumbers)]));

export const DatasetSchema = z.object({
  input_shape: z.array(z.number().int().positive()).min(1),
  inputs: z.array(NestedNumbers).min(1),
  labels: z.array(z.number().int().nonnegative()).optional(),
  /** Regression targets: one number, or one array of numbers, per input. */
  targets: z.array(z.union([z.number(), z.array(z.number())])).optional(),
});
export interface Dataset {
  inputShape: number[];
  inputs: number[][];
  labels?: number[];
  targets?: number[][];
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function flatten(v: unknown, out: number[]): void {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new InputError("dataset contains a non-finite number");
    out.push(v);
  } else if (Array.isArray(v)) for (const e of v) flatten(e, out);
}

/** Parse and validate a dataset object (from JSON). */
export function parseDataset(raw: unknown, what = "dataset"): Dataset {
  const r = DatasetSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError(`${what}: invalid dataset JSON at ${issue.path.join(".") || "(root)"}: ${issue.message}`, {
      cause: r.error,
    });
  }
  const n = prod(r.data.input_shape);
  const inputs = r.data.inputs.map((row, i) => {
    const flat: number[] = [];
    flatten(row, flat);
    if (flat.length !== n) {
      throw new ShapeError(
        `${what}: input ${i} has ${flat.length} values, input_shape [${r.data.input_shape}] needs ${n}`,
      );
    }
    return flat;
  });
  if (r.data.labels && r.data.labels.length !== inputs.length) {
    throw new InputError(`${what}: ${r.data.labels.length} labels for ${inputs.length} inputs`);
  }
  if (r.data.targets && r.data.targets.length !== inputs.length) {
    throw new InputError(`${what}: ${r.data.targets.length} targets for ${inputs.length} inputs`);
  }
  return {
    inputShape: r.data.input_shape,
    inputs,
    ...(r.data.labels ? { labels: r.data.labels } : {}),
    ...(r.data.targets ? { targets: r.data.targets.map((t) => (typeof t === "number" ? [t] : t)) } : {}),
  };
}

export function loadDataset(file: string): Dataset {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(`cannot read dataset ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseDataset(raw, file);
}

/** Check that a dataset fits a model input shape (same element count; batch 1). */
export function checkDatasetShape(ds: Dataset, modelShape: number[], what = "dataset"): void {
  if (prod(ds.inputShape) !== prod(modelShape)) {
    throw new ShapeError(
      `${what}: input_shape [${ds.inputShape}] (${prod(ds.inputShape)} values) does not match the model input [${modelShape}] (${prod(modelShape)} values)`,
    );
  }
}
