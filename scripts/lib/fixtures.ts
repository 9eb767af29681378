/**
 * Builds of the PyTorch fixtures (models/pytorch) that are too large to commit (the transformers' proving keys
 * are about 100 MB): built on first use into .veriml/builds/<name> with the development setup (about a minute
 * for the two-block ViT), and reused while the model, its calibration set and verifier-gen's sources are the
 * ones the build was made from.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { silentLogger, type Logger } from "../../verifier-gen/src/logger.js";
import { build } from "../../verifier-gen/src/pipeline.js";
import type { OutputKind } from "../../verifier-gen/src/interface.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** The transformer fixtures and what their outputs are. */
export const TRANSFORMER_FIXTURES: Record<string, OutputKind> = {
  digits_vit2: "logits",
  digits_vit2_op17: "logits",
  digits_rowtokens: "logits",
  digits_embed2: "embedding",
};

/** What a build depends on: the model, its calibration set, the output kind and every verifier-gen source. */
function sourceKey(name: string, kind: OutputKind): string {
  const h = createHash("sha256").update(`${name}\0${kind}\0`);
  for (const f of [`models/pytorch/${name}.onnx`, `models/pytorch/${name}.calib.json`])
    h.update(readFileSync(join(ROOT, f)));
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
  const dir = join(ROOT, ".veriml/builds", name);
  const stamp = join(dir, ".source-key");
  const key = sourceKey(name, kind);
  if (existsSync(join(dir, "manifest.json")) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) return dir;
  await build(
    {
      model: join(ROOT, `models/pytorch/${name}.onnx`),
      calibration: join(ROOT, `models/pytorch/${name}.calib.json`),
      out: dir,
      name,
      outputKind: kind,
      force: true,
    },
    logger,
  );
  writeFileSync(stamp, key);
  return dir;
}
