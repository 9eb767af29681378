/**
 * Proves one build `runs` times in this process (after a warm-up) and prints JSON {proveMs, witnessMs,
 * maxRssMb, proof}: run by bench-fixtures.ts as a child so that each model's peak memory is its own.
 *
 *   npx tsx verifier-gen/scripts/prove-runs.ts <build dir> <dataset.json> <runs>
 */
import { loadDataset } from "../src/dataset.js";
import { loadModelDir, proveInput, terminateSnarkjs } from "../src/pipeline.js";

const [dir, dataFile, runsArg] = process.argv.slice(2);
if (!dir || !dataFile || !runsArg) throw new Error("usage: prove-runs.ts <build dir> <dataset.json> <runs>");
const md = loadModelDir(dir);
const data = loadDataset(dataFile);
await proveInput(md, data.inputs[0]!); // warm-up (curve, wasm)
const proofs = [];
for (let i = 0; i < Number(runsArg); i++) proofs.push(await proveInput(md, data.inputs[(i + 1) % data.inputs.length]!));
await terminateSnarkjs();
process.stdout.write(
  JSON.stringify({
    proveMs: proofs.map((p) => p.timing.proveMs),
    witnessMs: proofs.map((p) => p.timing.witnessMs),
    // resourceUsage().maxRSS is in kilobytes: the peak of this process, zkey loading included.
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    calldata: proofs.at(-1)!.calldata,
  }) + "\n",
);
