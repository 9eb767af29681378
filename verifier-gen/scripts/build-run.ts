/**
 * Builds one model in this process and prints JSON {buildMs, maxRssMb, circuit}: run by bench-scale.ts as a child
 * so that each build's time and peak memory are its own.
 *
 *   npx tsx verifier-gen/scripts/build-run.ts <model.onnx> <calibration.json> <out dir>
 */
import { build, terminateSnarkjs } from "../src/pipeline.js";

const [model, calibration, out] = process.argv.slice(2);
if (!model || !calibration || !out) throw new Error("usage: build-run.ts <model.onnx> <calibration.json> <out dir>");
const t0 = performance.now();
const r = await build({ model, calibration, out });
const buildMs = performance.now() - t0;
await terminateSnarkjs();
process.stdout.write(
  JSON.stringify({
    buildMs,
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    circuit: r.manifest.circuit,
  }) + "\n",
);
