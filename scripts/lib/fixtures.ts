/**
 * Builds of the PyTorch fixtures (models/pytorch) that are too large to commit (the transformers' proving keys
 * are about 100 MB), and batch and sha256-input builds of the digits MLP: built on first use into .veriml/builds/<name> with the development setup (about a minute
 * for the two-block ViT), and reused while the model, its calibration set and verifier-gen's sources are the
 * ones the build was made from.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { silentLogger, type Logger } from "../../verifier-gen/src/logger.js";
import { build, type BuildOptions } from "../../verifier-gen/src/pipeline.js";
import type { OutputKind } from "../../verifier-gen/src/interface.js";
import type { InputCommitment } from "../../verifier-gen/src/signals.js";
import { digits28, scaleMlp } from "../../verifier-gen/scripts/lib/scale-models.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** The transformer fixtures and what their outputs are. */
export const TRANSFORMER_FIXTURES: Record<string, OutputKind> = {
  digits_vit2: "logits",
  digits_vit2_op17: "logits",
  digits_rowtokens: "logits",
  digits_embed2: "embedding",
};

/** What a build depends on: the model, its calibration set, the build options and every verifier-gen source. */
function sourceKey(options: string, files: string[]): string {
  const h = createHash("sha256").update(`${options}\0`);
  for (const f of files) h.update(readFileSync(join(ROOT, f)));
  const src = join(ROOT, "verifier-gen/src");
  for (const f of readdirSync(src, { recursive: true }).map(String).sort()) {
    if (f.endsWith(".ts") || f.endsWith(".proto")) h.update(f).update(readFileSync(join(src, f)));
  }
  return h.digest("hex");
}

/** The build directory of fixture `name`, built now unless an up-to-date build is there. */
export async function fixtureBuild(name: string, logger: Logger = silentLogger): Promise<string> {
  const kind = TRANSFORMER_FIXTURES[name];
  if (kind === undefined) throw new Error(`${name} is not a fixture built on demand`);
  const model = `models/pytorch/${name}.onnx`;
  const calibration = `models/pytorch/${name}.calib.json`;
  return cachedBuild(name, `${name}\0${kind}`, [model, calibration], logger, {
    model: join(ROOT, model),
    calibration: join(ROOT, calibration),
    name,
    outputKind: kind,
  });
}

/**
 * A batch-k build of the digits MLP (models/digits-mlp.onnx with the options of models/build/digits-mlp: the same
 * model commitment), built on first use into .veriml/builds/digits_mlp-b<k> with the development setup.
 */
export async function digitsMlpBatchBuild(k: number, logger: Logger = silentLogger): Promise<string> {
  const model = "models/digits-mlp.onnx";
  const calibration = "data/digits-calibration.json";
  return cachedBuild(`digits_mlp-b${k}`, `digits_mlp\0batch ${k}\0circom`, [model, calibration], logger, {
    model: join(ROOT, model),
    calibration: join(ROOT, calibration),
    name: "digits_mlp",
    batch: k,
    // circom: the batch tests compare the circuit with circom's witness calculator, slot by slot
    backend: "circom",
  });
}

/**
 * The digits MLP with input commitment sha256 (models/digits-mlp.onnx with the options of models/build/digits-mlp: the
 * same model commitment; its public signals are the SHA-256 of the input bytes and the label; with `batch` k > 1, of
 * the k slots' bytes and labels together), built on first use into .veriml/builds/digits_mlp-sha256[-b<k>] with the
 * development setup (the circom backend: about 12 s for one slot, minutes for 16).
 */
export async function digitsMlpSha256Build(batch = 1, logger: Logger = silentLogger): Promise<string> {
  const model = "models/digits-mlp.onnx";
  const calibration = "data/digits-calibration.json";
  const suffix = batch === 1 ? "" : `-b${batch}`;
  return cachedBuild(`digits_mlp-sha256${suffix}`, `digits_mlp\0sha256${suffix}`, [model, calibration], logger, {
    model: join(ROOT, model),
    calibration: join(ROOT, calibration),
    name: "digits_mlp",
    inputCommitment: "sha256",
    ...(batch === 1 ? {} : { batch }),
  });
}

/**
 * The scale benchmark's mlp_10k (784 inputs, verifier-gen/scripts/lib/scale-models.ts, calibrated on the upsampled
 * digits) with either input commitment, default backends (packed: direct, sha256: circom), built on first use into
 * .veriml/builds/mlp_10k-<commitment>; also its model and data files there. For bench-hashed.ts.
 */
export async function mlp10kBuild(
  inputCommitment: InputCommitment,
  logger: Logger = silentLogger,
): Promise<{ dir: string; data: string }> {
  const model = ".veriml/builds/mlp_10k.onnx";
  const data = ".veriml/builds/mlp_10k.data.json";
  mkdirSync(join(ROOT, ".veriml/builds"), { recursive: true });
  writeFileSync(join(ROOT, model), scaleMlp("mlp_10k", [12]).onnx);
  writeFileSync(join(ROOT, data), JSON.stringify(digits28(join(ROOT, "data/digits-calibration.json"), 64, [1, 784])));
  const dir = await cachedBuild(`mlp_10k-${inputCommitment}`, `mlp_10k\0${inputCommitment}`, [model, data], logger, {
    model: join(ROOT, model),
    calibration: join(ROOT, data),
    name: "mlp_10k",
    inputCommitment,
  });
  return { dir, data: join(ROOT, data) };
}

/** Builds into .veriml/builds/<dir> unless the build there was made from the same sources and options. */
async function cachedBuild(
  dirName: string,
  options: string,
  files: string[],
  logger: Logger,
  opts: Omit<BuildOptions, "out">,
): Promise<string> {
  const dir = join(ROOT, ".veriml/builds", dirName);
  const stamp = join(dir, ".source-key");
  const key = sourceKey(options, files);
  if (existsSync(join(dir, "manifest.json")) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) return dir;
  await build({ ...opts, out: dir, force: true }, logger);
  writeFileSync(stamp, key);
  return dir;
}
