/**
 * Scale: MNIST-shaped (28 x 28 input) MLPs of about 10k, 100k, 300k and 1M parameters and CNNs of about 75k and
 * 300k (verifier-gen/scripts/lib/scale-models.ts), each built with the direct backend and a development key, then
 * loaded and proved in a fresh process.
 *
 *   npx tsx verifier-gen/scripts/bench-scale.ts
 *   env: BENCH_PROVE_RUNS (default 5, at least 5), BENCH_SCALE (default: every model, e.g. "mlp_10k,cnn_75k"),
 *        BENCH_OUT (default bench/results/scale.json)
 *
 * Records per model: parameters, constraints, wires, domain power, build time (ONNX import, quantization, model
 * commitment, R1CS) and its compile part, setup time, the build's peak memory, load time, zkey load time, prove
 * time (median of the runs after a warm-up, and every run), witness time, and the prover's peak memory.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { median } from "../src/stats.js";
import { digits28, scaleModels } from "./lib/scale-models.js";

const ROOT = resolve(import.meta.dirname, "../..");
const RUNS = Math.max(5, Number(process.env.BENCH_PROVE_RUNS ?? 5));
const OUT = resolve(ROOT, process.env.BENCH_OUT ?? "bench/results/scale.json");
const WORK = join(ROOT, ".veriml/scale");
const wanted = process.env.BENCH_SCALE?.split(",");
const child = (script: string, args: string[]) =>
  JSON.parse(
    execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "verifier-gen/scripts", script), ...args], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 1 << 26,
      stdio: ["ignore", "pipe", "inherit"],
    })
      .trim()
      .split("\n")
      .at(-1)!,
  );

mkdirSync(WORK, { recursive: true });
const results = [];
for (const m of scaleModels().filter((x) => !wanted || wanted.includes(x.name))) {
  const onnx = join(WORK, `${m.name}.onnx`);
  const data = join(WORK, `${m.name}.data.json`);
  const out = join(WORK, m.name);
  writeFileSync(onnx, m.onnx);
  writeFileSync(
    data,
    JSON.stringify(
      digits28(join(ROOT, "data/digits-calibration.json"), 64, m.kind === "mlp" ? [1, 784] : [1, 1, 28, 28]),
    ),
  );
  process.stderr.write(`[bench-scale] ${m.name} (${m.params} parameters): building\n`);
  const b = child("build-run.ts", [onnx, data, out]);
  process.stderr.write(`[bench-scale] ${m.name}: ${b.circuit.constraints} constraints, proving x${RUNS}\n`);
  const p = child("prove-runs.ts", [out, data, String(RUNS)]);
  const row = {
    model: m.name,
    kind: m.kind,
    input: "28x28",
    params: m.params,
    constraints: b.circuit.constraints,
    wires: b.circuit.wires,
    domain_power: b.circuit.ptauPower,
    backend: b.circuit.backend,
    build_s: +(b.buildMs / 1000).toFixed(1),
    compile_s: +(b.circuit.compileMs / 1000).toFixed(2),
    setup_s: +(b.circuit.setupMs / 1000).toFixed(1),
    build_peak_mb: b.maxRssMb,
    load_ms: Math.round(p.loadMs),
    zkey_load_ms: Math.round(p.zkeyLoadMs),
    prove_ms_median: Math.round(median(p.proveMs)),
    prove_ms_runs: p.proveMs.map(Math.round),
    witness_ms_median: Math.round(median(p.witnessMs)),
    prove_peak_mb: p.maxRssMb,
  };
  process.stderr.write(`[bench-scale] ${JSON.stringify(row)}\n`);
  results.push(row);
}
mkdirSync(dirname(OUT), { recursive: true });
// A run of some models (BENCH_SCALE) replaces their rows and keeps the others'.
if (wanted && existsSync(OUT)) {
  const previous = (JSON.parse(readFileSync(OUT, "utf8")) as { results: { model: string }[] }).results;
  const order = scaleModels().map((m) => m.name);
  for (const old of previous)
    if (!results.some((r) => r.model === old.model) && order.includes(old.model))
      results.push(old as (typeof results)[number]);
  results.sort((a, b) => order.indexOf(a.model) - order.indexOf(b.model));
}
writeFileSync(
  OUT,
  JSON.stringify(
    {
      bench: "scale",
      note: "development keys (devsetup.ts), direct R1CS backend; prove = snarkjs groth16.prove, median of runs after a warm-up",
      runs: RUNS,
      machine: { cpus: (await import("node:os")).cpus().length },
      results,
    },
    null,
    1,
  ),
);
process.stderr.write(`[bench-scale] wrote ${OUT}\n`);
