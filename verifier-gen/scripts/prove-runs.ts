/**
 * Proves one build `runs` times in this process (after a warm-up) and prints JSON {loadMs, zkeyLoadMs, proveMs,
 * witnessMs, maxRssMb, calldata}: run by the benchmarks as a child so that each model's peak memory is its own.
 *
 *   npx tsx verifier-gen/scripts/prove-runs.ts <build dir> <dataset.json> <runs>
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadDataset } from "../src/dataset.js";
import { loadModelDir, proveInput, terminateSnarkjs } from "../src/pipeline.js";

const [dir, dataFile, runsArg] = process.argv.slice(2);
if (!dir || !dataFile || !runsArg) throw new Error("usage: prove-runs.ts <build dir> <dataset.json> <runs>");
const t0 = performance.now();
const md = loadModelDir(dir);
const loadMs = performance.now() - t0;
// The proving key as the prover reads it (once per process; the prover caches it).
const t1 = performance.now();
readFileSync(join(md.dir, "model.zkey"));
const zkeyLoadMs = performance.now() - t1;
const data = loadDataset(dataFile);
await proveInput(md, data.inputs[0]!); // warm-up (curve, witness layout, zkey)
const proofs = [];
for (let i = 0; i < Number(runsArg); i++) proofs.push(await proveInput(md, data.inputs[(i + 1) % data.inputs.length]!));
await terminateSnarkjs();
process.stdout.write(
  JSON.stringify({
    loadMs,
    zkeyLoadMs,
    proveMs: proofs.map((p) => p.timing.proveMs),
    witnessMs: proofs.map((p) => p.timing.witnessMs),
    // resourceUsage().maxRSS is in kilobytes: the peak of this process, zkey loading included.
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    calldata: proofs.at(-1)!.calldata,
  }) + "\n",
);
