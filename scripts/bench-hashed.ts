/**
 * Input commitment packed vs sha256 (issue 14), end to end with real proofs: the digits MLP (64 inputs; packed = the
 * committed models/build/digits-mlp, sha256 = the fixture build of the same model) and the scale benchmark's mlp_10k
 * (784 inputs, both built on first use into .veriml/builds). Per build: public signals, constraints, the time to
 * prove a request's bytes (median after a warm-up), and on Hardhat's in-process chain the gas of verifyInference
 * sent as a transaction and of InferenceMarket.fulfill (the request's first and a steady-state one, i.e. the
 * operator and treasury already credited once).
 *
 *   npx hardhat run scripts/bench-hashed.ts     (env: BENCH_PROVE_RUNS default 5)
 * Writes bench/results/hashed-input.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import os from "node:os";
import { network } from "hardhat";
import { Contract, ContractFactory, parseEther } from "ethers";
import { digitsMlpSha256Build, mlp10kBuild } from "./lib/fixtures.js";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";
import { inlineEthRequest } from "./lib/requests.js";
import { MODE_ZK, deployZkModule, registerZkModel } from "./lib/zk.js";
import { encodeZkProof } from "../operator/src/executors/zk.js";
import { encodeInputBytes, encodeOutput } from "../verifier-gen/src/encoding.js";
import {
  inputCommitmentOf,
  loadModelDir,
  loadVerifierArtifact,
  proveRequest,
  terminateSnarkjs,
  type ProofFile,
} from "../verifier-gen/src/pipeline.js";
import { quantizeInput } from "../verifier-gen/src/quantize.js";
import { median } from "../verifier-gen/src/stats.js";

const RUNS = Math.max(5, Number(process.env.BENCH_PROVE_RUNS ?? 5));
const OUT = "bench/results/hashed-input.json";
const TX_BASE = 21_000;
const PRICE = parseEther("0.01");

const log = (m: string) => process.stderr.write(`[bench-hashed] ${m}\n`);
const { ethers } = await network.create();
const [deployer, treasury, user, operator] = await ethers.getSigners();
if (operator === undefined) throw new Error("the in-process chain has too few accounts");

log("builds (cached in .veriml/builds)");
const digitsSample = (JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] }).inputs[0]!;
const mlpPacked = await mlp10kBuild("packed");
const mlpSample = (JSON.parse(readFileSync(mlpPacked.data, "utf8")) as { inputs: number[][] }).inputs[0]!;
const builds = [
  { model: "digits MLP 64-32-10", inputs: 64, dir: "models/build/digits-mlp", sample: digitsSample },
  { model: "digits MLP 64-32-10", inputs: 64, dir: await digitsMlpSha256Build(), sample: digitsSample },
  { model: "mlp_10k 784-12-10", inputs: 784, dir: mlpPacked.dir, sample: mlpSample },
  { model: "mlp_10k 784-12-10", inputs: 784, dir: (await mlp10kBuild("sha256")).dir, sample: mlpSample },
];

/** Gas of verifyInference as its own transaction. */
async function verifyGas(dir: string, input: Uint8Array, p: ProofFile): Promise<number> {
  const artifact = loadVerifierArtifact(dir);
  const deployed = await new ContractFactory(artifact.abi as object[], artifact.bytecode, deployer).deploy();
  await deployed.waitForDeployment();
  const verifier = deployed as Contract;
  const { a, b, c } = p.calldata;
  if (!(await verifier.getFunction("verifyInference").staticCall(a, b, c, input, p.decoded.output))) {
    throw new Error(`${dir}: the verifier refuses the proof`);
  }
  const receipt = await (await verifier.getFunction("verifyInference").send(a, b, c, input, p.decoded.output)).wait();
  return Number(receipt!.gasUsed);
}

/** Gas of fulfill for two requests of the input on a fresh market: the first, and the second (steady state). */
async function fulfillGas(dir: string, input: Uint8Array, p: ProofFile): Promise<{ first: number; steady: number }> {
  const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
  await deployZkModule(suite, deployer!);
  const { modelId } = await registerZkModel(suite.registry, deployer!, {
    buildDir: dir,
    artifactURI: `file://${dir}`,
    ethPrice: PRICE,
    operatorStake: parseEther("1"),
  });
  await (await suite.vault.connect(operator!).stake(parseEther("5"), { value: parseEther("5") })).wait();
  await (await suite.vault.connect(operator!).setService(modelId, 0, true)).wait();
  const gas: number[] = [];
  for (let id = 1n; id <= 2n; id++) {
    const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp + 3600);
    await (
      await suite.market
        .connect(user!)
        .createRequest(inlineEthRequest(modelId, MODE_ZK, input, PRICE, deadline), { value: PRICE })
    ).wait();
    const output = encodeOutput(p.decoded.output);
    const receipt = await (
      await suite.market.connect(operator!).fulfill(id, output, encodeZkProof(input, p.calldata))
    ).wait();
    if ((await suite.market.getRequest(id)).status !== 4n) throw new Error(`${dir}: request ${id} did not settle`);
    gas.push(Number(receipt!.gasUsed));
  }
  return { first: gas[0]!, steady: gas[1]! };
}

const results = [];
for (const b of builds) {
  const md = loadModelDir(b.dir);
  const m = md.manifest;
  const input = encodeInputBytes(md.graph, quantizeInput(md.graph, b.sample));
  log(`${b.model} ${inputCommitmentOf(m)}: proving x${RUNS + 1}`);
  let proof = await proveRequest(md, input);
  const proveMs: number[] = [];
  const witnessMs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    proof = await proveRequest(md, input);
    proveMs.push(proof.timing.proveMs);
    witnessMs.push(proof.timing.witnessMs);
  }
  const verifyTx = await verifyGas(b.dir, input, proof);
  const fulfill = await fulfillGas(b.dir, input, proof);
  const row = {
    model: b.model,
    inputs: b.inputs,
    input_bytes: input.length,
    input_commitment: inputCommitmentOf(m),
    backend: m.circuit.backend ?? "circom",
    public_signals: m.publicSignals.length,
    constraints: m.circuit.constraints,
    domain_power: m.circuit.ptauPower,
    prove_ms_median: Math.round(median(proveMs)),
    prove_ms_runs: proveMs.map(Math.round),
    witness_ms_median: Math.round(median(witnessMs)),
    verify_tx_gas: verifyTx,
    verify_gas: verifyTx - TX_BASE,
    fulfill_gas_first: fulfill.first,
    fulfill_gas: fulfill.steady,
  };
  log(JSON.stringify(row));
  results.push(row);
}
await terminateSnarkjs();
const report = {
  tool: "scripts/bench-hashed.ts",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load: os.loadavg() },
  params: {
    runs: RUNS,
    input: "digits: data/digits-test.json sample 0; mlp_10k: the upsampled digits, sample 0 (seeded weights)",
    keys: "development Groth16 keys",
    chain: "Hardhat in-process (EDR), automine",
  },
  notes:
    "packed: the input values packed with the output into public signals; sha256: one input signal, " +
    "uint256(sha256(input bytes)) >> 3, computed in the circuit (circomlib SHA-256, circom backend) and by the " +
    "verifier with the SHA-256 precompile. prove_ms: snarkjs groth16 prove of the request's bytes (median after a " +
    "warm-up), witness_ms on top; verify_tx_gas: verifyInference sent as a transaction (verify_gas: less 21,000, " +
    "calldata included); fulfill_gas: InferenceMarket.fulfill of a second request (operator and treasury credited " +
    "before), fulfill_gas_first: of the first.",
  results,
};
await mkdir("bench/results", { recursive: true });
await writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\nwritten ${OUT}\n`);
