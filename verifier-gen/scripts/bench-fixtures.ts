/**
 * The PyTorch fixtures (models/pytorch, built in models/build): the Proof of AI table per model.
 *
 *   npx hardhat run verifier-gen/scripts/bench-fixtures.ts
 *   env: BENCH_PROVE_RUNS (default 5, at least 5), BENCH_FIXTURES (default: every fixture with a build),
 *        BENCH_OUT (default bench/results/fixtures.json)
 *
 * Records per fixture: constraints and the per-op breakdown, setup time (from the build's manifest), prove time
 * (median of the runs, after a warm-up), the peak resident memory of a process that loads the build and proves, verify gas (a transaction calling
 * the build's compiled verifier), and the accuracy metrics and bit-exactness of `eval --json` over the whole
 * evaluation set (interpreter vs int64 ONNX vs circuit witness on every sample).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { network } from "hardhat";
import { loadDataset } from "../src/dataset.js";
import { silentLogger, type Logger } from "../src/logger.js";
import { evaluate, loadModelDir, loadVerifierArtifact, terminateSnarkjs } from "../src/pipeline.js";
import { median } from "../src/stats.js";
import { TRANSFORMER_FIXTURES, fixtureBuild } from "../../scripts/lib/fixtures.js";

const ROOT = resolve(import.meta.dirname, "../..");
const RUNS = Math.max(5, Number(process.env.BENCH_PROVE_RUNS ?? 5));
const OUT = resolve(ROOT, process.env.BENCH_OUT ?? "bench/results/fixtures.json");
const FIXTURES = (
  process.env.BENCH_FIXTURES?.split(",") ??
  readdirSync(join(ROOT, "models/pytorch"))
    .filter((f) => f.endsWith(".onnx"))
    .map((f) => f.slice(0, -5))
).filter((m) => m in TRANSFORMER_FIXTURES || existsSync(join(ROOT, "models/build", m, "manifest.json")));

const log: Logger = {
  ...silentLogger,
  info: ((a: unknown, b?: string) =>
    process.stderr.write(`[bench] ${typeof a === "string" ? a : (b ?? "")}\n`)) as Logger["info"],
};

const { ethers } = await network.create();

const results = [];
for (const name of FIXTURES) {
  // The transformers are built on first use (scripts/lib/fixtures.ts), the others are committed.
  const dir = name in TRANSFORMER_FIXTURES ? await fixtureBuild(name, log) : join(ROOT, "models/build", name);
  const md = loadModelDir(dir);
  const data = loadDataset(join(ROOT, "models/pytorch", `${name}.json`));
  log.info(`${name}: proving x${RUNS} (a child process, for its own peak memory)`);
  const child = execFileSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "verifier-gen/scripts/prove-runs.ts"),
      dir,
      join(ROOT, "models/pytorch", `${name}.json`),
      String(RUNS),
    ],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26 },
  );
  const runs = JSON.parse(child.trim().split("\n").at(-1)!) as {
    proveMs: number[];
    witnessMs: number[];
    maxRssMb: number;
    calldata: { a: string[]; b: string[][]; c: string[]; pubSignals: string[] };
  };
  const last = { calldata: runs.calldata };
  const { abi, bytecode } = loadVerifierArtifact(dir);
  const verifier = await new ethers.ContractFactory(abi as never, bytecode, (await ethers.getSigners())[0]).deploy();
  await verifier.waitForDeployment();
  const args = [
    last.calldata.a.map(BigInt),
    last.calldata.b.map((r) => r.map(BigInt)),
    last.calldata.c.map(BigInt),
    last.calldata.pubSignals.map(BigInt),
  ] as const;
  const verifyProof = verifier.getFunction("verifyProof");
  if (!((await verifyProof(...args)) as boolean)) throw new Error(`${name}: the verifier refused the proof`);
  const receipt = await (await verifyProof.send(...args)).wait();
  log.info(`${name}: eval over ${data.inputs.length} samples`);
  const ev = await evaluate(md, { data, proveSamples: 0 });
  results.push({
    model: name,
    output_kind: ev.output_kind,
    constraints: ev.constraints,
    constraint_breakdown: ev.constraint_breakdown,
    setup_ms: md.manifest.circuit.setupMs,
    compile_ms: md.manifest.circuit.compileMs,
    ceremony: md.manifest.ceremony.phase1,
    zkey_mb: Number((statSync(join(dir, "model.zkey")).size / 2 ** 20).toFixed(1)),
    prove_ms_median: Number(median(runs.proveMs).toFixed(0)),
    witness_ms_median: Number(median(runs.witnessMs).toFixed(0)),
    prove_runs: RUNS,
    peak_rss_mb_proving: runs.maxRssMb,
    verify_gas_used: Number(receipt!.gasUsed),
    samples: ev.samples,
    bitexact: ev.bitexact,
    bitexact_detail: ev.bitexact_detail,
    float_accuracy: ev.float_accuracy,
    quantized_accuracy: ev.quantized_accuracy,
    agreement: ev.agreement,
    mae_float: ev.mae_float,
    mae_quantized: ev.mae_quantized,
    mae_float_vs_quantized: ev.mae_float_vs_quantized,
    mean_cosine: ev.mean_cosine,
    min_cosine: ev.min_cosine,
  });
}
await terminateSnarkjs();

const report = {
  tool: "verifier-gen fixtures",
  date: new Date().toISOString(),
  machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
  notes:
    "Builds in models/build (development setup). prove = snarkjs groth16 prove of one inference, median after a warm-up; peak RSS is that of a process that loads the build and proves (a child per model); gas = gasUsed of a transaction calling verifyProof.",
  results,
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
