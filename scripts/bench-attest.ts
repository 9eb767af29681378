/**
 * Benchmark attestation of the digits MLP on the first n digits of data/digits-test.json, with real proofs: the
 * attestation circuit (n copies of the model's circuit, the labels, the Poseidon dataset commitment; built on first
 * use into .veriml/builds/digits-mlp-attestation-<n>, development key), the time to prove, and on Hardhat's
 * in-process chain the gas of naming the verifier (setVerifier), of the verifier's own check (verifyAttestation sent
 * as a transaction, less 21,000) and of recording the attestation (BenchmarkRegistry.attest).
 *
 *   npx hardhat run scripts/bench-attest.ts     (env: BENCH_RUNS default 3, BENCH_ATTEST_SAMPLES default "32,64")
 * Writes bench/results/attest.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { network } from "hardhat";
import { Contract, ContractFactory } from "ethers";
import { BenchmarkRegistry__factory, ModelRegistry__factory } from "../types/ethers-contracts/index.js";
import { buildAttestation, loadTestSet, proveAttestation, samplesOf } from "../verifier-gen/src/attestation.js";
import { loadModelDir, terminateSnarkjs } from "../verifier-gen/src/pipeline.js";
import { median } from "../verifier-gen/src/stats.js";
import { attestArguments } from "./lib/attestation.js";

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const SAMPLE_COUNTS = (process.env.BENCH_ATTEST_SAMPLES ?? "32,64").split(",").map(Number);
const OUT = "bench/results/attest.json";
const BUILD = "models/build/digits-mlp";
const TX_BASE = 21_000;
const VERIFY_ABI = [
  "function verifyAttestation(uint256[2] a, uint256[2][2] b, uint256[2] c, uint256 datasetCommitment, uint256 correct, address attester) view returns (bool)",
];

const md = loadModelDir(BUILD);
const { ethers } = await network.create();
const [owner] = await ethers.getSigners();
if (owner === undefined) throw new Error("the in-process chain has no account");
const results: Record<string, unknown> = {};

for (const n of SAMPLE_COUNTS) {
  process.stderr.write(`[bench-attest] building the ${n}-sample attestation circuit\n`);
  const ab = await buildAttestation(md, { samples: n, dir: `.veriml/builds/digits-mlp-attestation-${n}` });
  const samples = samplesOf(md, loadTestSet("data/digits-test.json", n));
  const proveMs: number[] = [];
  const witnessMs: number[] = [];
  let attestation = await proveAttestation(md, ab, samples, owner.address);
  for (let r = 0; r < RUNS; r++) {
    process.stderr.write(`[bench-attest] n=${n} prove ${r + 1}/${RUNS}\n`);
    attestation = await proveAttestation(md, ab, samples, owner.address);
    proveMs.push(attestation.timing.proveMs);
    witnessMs.push(attestation.timing.witnessMs);
  }

  // A fresh registry and model per sample count: every measured write is a first write.
  const models = await new ModelRegistry__factory(owner).deploy(owner.address);
  const mock = await ethers.deployContract("MockVerificationModule", [owner.address]);
  await (await models.setModeModule(0, await mock.getAddress())).wait();
  await (
    await models.registerModel(md.manifest.modelHash, `file://${BUILD}`, 1n, 1n, [{ mode: 0, config: "0x" }])
  ).wait();
  const modelId = await models.modelCount();
  const benchmark = await new BenchmarkRegistry__factory(owner).deploy(await models.getAddress());
  const verifier = await new ContractFactory(ab.artifact.abi as object[], ab.artifact.bytecode, owner).deploy();
  await verifier.waitForDeployment();
  const named = await (await benchmark.setVerifier(modelId, await verifier.getAddress(), ab.artifact.codeHash)).wait();
  const [dataset, , correct, proof] = attestArguments(attestation);
  const check = new Contract(await verifier.getAddress(), VERIFY_ABI, owner);
  const verified = await (
    await check.getFunction("verifyAttestation").send(proof.a, proof.b, proof.c, dataset, correct, owner.address)
  ).wait();
  const recorded = await (await benchmark.attest(modelId, ...attestArguments(attestation))).wait();
  const record = await benchmark.getAttestation(0n);
  if (record.correct !== BigInt(attestation.correct)) throw new Error("the record is not the attestation");

  results[`samples=${n}`] = {
    samples: n,
    correct: attestation.correct,
    constraints: ab.manifest.circuit.constraints,
    constraints_per_sample: Math.round(ab.manifest.circuit.constraints / n),
    model_circuit_constraints: md.manifest.circuit.constraints,
    ptau_power: ab.manifest.circuit.ptauPower,
    compile_ms: ab.manifest.circuit.compileMs,
    setup_ms: ab.manifest.circuit.setupMs,
    witness_ms_median: Math.round(median(witnessMs)),
    prove_ms_median: Math.round(median(proveMs)),
    set_verifier_gas: Number(named!.gasUsed),
    verify_attestation_gas: Number(verified!.gasUsed) - TX_BASE,
    attest_gas: Number(recorded!.gasUsed),
  };
}
await terminateSnarkjs();
const report = {
  tool: "scripts/bench-attest.ts",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  params: {
    runs: RUNS,
    model: "digits MLP (models/digits-mlp.onnx, 64 inputs, 10 classes), development Groth16 key (circom backend)",
    test_set: "the first n digits of data/digits-test.json",
    chain: "Hardhat in-process (EDR), automine",
  },
  notes:
    "compile_ms / setup_ms: one build (circom, development key); prove_ms: snarkjs groth16 prove (median, after " +
    "a warm-up proof), witness_ms on top; verify_attestation_gas: the verifier's check as its own transaction less " +
    "21,000; attest_gas: the recording transaction (verification, code hash check, the record, the event)",
  results,
};
await mkdir("bench/results", { recursive: true });
await writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\nwritten ${OUT}\n`);
