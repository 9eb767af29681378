/**
 * verifier-gen benchmark: per model, the optimized circuit (weights as constants, packed
 * public signals) and the naive baseline (weights as private signals, one public signal per
 * value), measured in the same run.
 *
 *   npx hardhat run verifier-gen/scripts/bench.ts        (or: npx tsx verifier-gen/scripts/bench.ts)
 *   env: BENCH_PROVE_RUNS (default 7), BENCH_MODELS (default "digits-mlp,digits-cnn"),
 *        BENCH_OUT (default bench/results/verifier-gen.json)
 *
 * Records: constraints, witness ms and prove ms (median of >= 5), verify gas (gasUsed of a
 * transaction calling verifyProof, and eth_estimateGas), proof bytes, calldata bytes,
 * float / quantized accuracy, agreement and bit-exactness on the held-out split.
 */
import { median } from "../src/stats.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { network } from "hardhat";
import { loadDataset } from "../src/dataset.js";
import { PROOF_BYTES } from "../src/groth16.js";
import { silentLogger, type Logger } from "../src/logger.js";
import {
  build,
  evaluate,
  loadModelDir,
  loadVerifierArtifact,
  proveInput,
  terminateSnarkjs,
  type ModelDir,
} from "../src/pipeline.js";

const ROOT = resolve(import.meta.dirname, "../..");
const RUNS = Math.max(5, Number(process.env.BENCH_PROVE_RUNS ?? 7));
const MODELS = (process.env.BENCH_MODELS ?? "digits-mlp,digits-cnn").split(",").filter(Boolean);
const OUT = resolve(ROOT, process.env.BENCH_OUT ?? "bench/results/verifier-gen.json");
const WORK = resolve(ROOT, ".veriml/bench");

const log: Logger = {
  ...silentLogger,
  info: ((a: unknown, b?: string) =>
    process.stderr.write(`[bench] ${typeof a === "string" ? a : (b ?? "")}\n`)) as Logger["info"],
};

const { ethers } = await network.create();
const test = loadDataset(resolve(ROOT, "data/digits-test.json"));

async function measure(model: string, naive: boolean) {
  const label = `${model}${naive ? " (naive)" : ""}`;
  log.info(`building ${label}`);
  const t0 = Date.now();
  const res = await build(
    {
      model: resolve(ROOT, `models/${model}.onnx`),
      calibration: resolve(ROOT, "data/digits-calibration.json"),
      out: join(WORK, model + (naive ? "-naive" : "")),
      naive,
    },
    log,
  );
  const buildMs = Date.now() - t0;
  const md: ModelDir = loadModelDir(res.dir);

  log.info(`proving ${label} x${RUNS}`);
  const wms: number[] = [];
  const pms: number[] = [];
  let last = await proveInput(md, test.inputs[0]!); // warm-up (curve / wasm init)
  for (let i = 0; i < RUNS; i++) {
    last = await proveInput(md, test.inputs[i % test.inputs.length]!);
    wms.push(last.timing.witnessMs);
    pms.push(last.timing.proveMs);
  }

  log.info(`verifying ${label} on-chain`);
  // The bytecode the build compiled and records (verifier.json): what deployments use.
  const { abi, bytecode } = loadVerifierArtifact(res.dir);
  const factory = new ethers.ContractFactory(abi as never, bytecode, (await ethers.getSigners())[0]);
  const verifier = await factory.deploy();
  await verifier.waitForDeployment();
  const a = last.calldata.a.map(BigInt);
  const b = last.calldata.b.map((r) => r.map(BigInt));
  const c = last.calldata.c.map(BigInt);
  const pub = last.calldata.pubSignals.map(BigInt);
  const fn = verifier.getFunction("verifyProof");
  const ok = (await fn(a, b, c, pub)) as boolean;
  if (!ok) throw new Error(`${label}: on-chain verification failed`);
  const estimate = await fn.estimateGas(a, b, c, pub);
  const rc = await (await fn.send(a, b, c, pub)).wait();
  const calldataBytes = (verifier.interface.encodeFunctionData("verifyProof", [a, b, c, pub]).length - 2) / 2;

  log.info(`evaluating ${label} on ${test.inputs.length} held-out samples`);
  const ev = await evaluate(md, { data: test, proveSamples: 0, witnessSamples: naive ? 60 : test.inputs.length });
  return {
    model,
    variant: naive ? "naive" : "optimized",
    modelHash: md.manifest.modelHash,
    constraints: md.manifest.circuit.constraints,
    public_signals: md.manifest.publicSignals.length,
    witness_ms_median: Number(median(wms).toFixed(1)),
    prove_ms_median: Number(median(pms).toFixed(1)),
    prove_runs: RUNS,
    verify_gas_used: Number(rc!.gasUsed),
    verify_gas_estimate: Number(estimate),
    proof_bytes: PROOF_BYTES,
    calldata_bytes: calldataBytes,
    float_accuracy: ev.float_accuracy,
    quantized_accuracy: ev.quantized_accuracy,
    agreement: ev.agreement,
    bitexact: ev.bitexact,
    bitexact_witness_samples: ev.bitexact_detail.witness_checked,
    samples: ev.samples,
    build_ms: buildMs,
    ptau_power: md.manifest.circuit.ptauPower,
  };
}

const results = [];
for (const m of MODELS) {
  const opt = await measure(m, false);
  const nai = await measure(m, true);
  results.push(opt, nai);
  const ratio = (k: "constraints" | "prove_ms_median" | "verify_gas_used" | "public_signals") =>
    (nai[k] / opt[k]).toFixed(2);
  log.info(
    `${m}: constraints ${opt.constraints} vs naive ${nai.constraints} (x${ratio("constraints")}), prove ${opt.prove_ms_median} ms vs ${nai.prove_ms_median} ms (x${ratio("prove_ms_median")}), gas ${opt.verify_gas_used} vs ${nai.verify_gas_used} (x${ratio("verify_gas_used")})`,
  );
}
await terminateSnarkjs();

const report = {
  tool: "verifier-gen",
  date: new Date().toISOString(),
  machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
  notes:
    "optimized = weights as circuit constants, packed public signals; naive = weights as private signals (one constraint per product), one public signal per input/output value. gas = gasUsed of a tx calling verifyProof (estimate includes the 63/64 forwarding margin). Local development powers-of-tau.",
  results,
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
