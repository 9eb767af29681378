/**
 * Gas per inference of batched zk proofs on the digits MLP, with real Groth16 proofs: k = 1 (the committed
 * single build, settled by InferenceMarket.fulfill) and k = 4, 16 (batch builds, built on first use into
 * .veriml/builds, settled by fulfillBatch: one proof, one transaction for k requests). Each run creates k ETH
 * requests (different inputs), proves them and settles them from a staked operator; its gas is split into
 *   verification: the verifier's own check of the proof (verifyInference / verifyInferences sent as a
 *                 transaction of its own, less the 21,000 of any transaction): packing, MSM, pairing;
 *   settlement:   everything else of the settling transaction (market and module bookkeeping, input hash
 *                 checks, payment credits, events, the proof's calldata, the transaction's 21,000),
 * each divided by k. Request creation (createRequest) is reported next to it.
 *
 *   npx hardhat run scripts/bench-batch.ts     (env: BENCH_RUNS default 3, BENCH_BATCHES default "1,4,16")
 * Writes bench/results/batch.json.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Contract, parseEther, type TransactionReceipt } from "ethers";
import { encodeZkBatchProof, encodeZkProof } from "../operator/src/executors/zk.js";
import { encodeOutput } from "../verifier-gen/src/encoding.js";
import { loadModelDir, proveBatch, proveQuantized, terminateSnarkjs } from "../verifier-gen/src/pipeline.js";
import { inputCommitmentOf } from "../verifier-gen/src/pipeline.js";
import { quantizeInput } from "../verifier-gen/src/quantize.js";
import { runInt } from "../verifier-gen/src/intgraph.js";
import { median } from "../verifier-gen/src/stats.js";
import { digitsMlpBatchBuild, digitsMlpSha256Build } from "./lib/fixtures.js";
import { startInProcessChain } from "./lib/in-process-chain.js";
import { deployZkStack, sendZkRequest } from "./lib/zk-stack.js";

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
/** k or k:sha256 (a build with input commitment sha256: one hash of every slot's bytes). */
const BATCHES = (process.env.BENCH_BATCHES ?? "1,4,16,16:sha256").split(",");
const OUT = "bench/results/batch.json";
const TX_BASE = 21_000;
const VERIFIER_ABI = [
  "function verifyInference(uint256[2] a, uint256[2][2] b, uint256[2] c, bytes input, int256[] output) view returns (bool)",
  "function verifyInferences(uint256[2] a, uint256[2][2] b, uint256[2] c, bytes[] inputs, int256[][] outputs) view returns (bool)",
  "function packPublicSignals(bytes input, int256[] output) pure returns (uint256[2] s)",
  "function packBatchPublicSignals(bytes[] inputs, int256[][] outputs) pure returns (uint256[2] s)",
];
/** Intrinsic gas of a transaction's calldata (EIP-2028). */
const calldataGas = (data: string): number => {
  let gas = 0;
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === "00" ? 4 : 16;
  return gas;
};

/** The label the model gives a quantized input (the digits MLP ends in ArgMax). */
const quantizedLabel = (md: ReturnType<typeof loadModelDir>, q: number[]): number => runInt(md.graph, q).output[0]!;

const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };

interface Run {
  /** the second settlement of the run: operator and treasury already credited (what every later one costs) */
  settleGas: number;
  /** the run's first settlement: it also creates the operator's and the treasury's balances */
  firstSettleGas: number;
  verifyGas: number;
  /** Execution gas of one slot's packPublicSignals (decoding, clamping and packing its input and output). */
  packGas: number;
  createGas: number[];
  proveMs: number;
}

async function runOnce(k: number, build: string, run: number): Promise<Run> {
  const md = loadModelDir(build);
  const chain = await startInProcessChain(50);
  try {
    const stack = await deployZkStack(chain.provider, build, 0);
    const operator = stack.accounts[3]!;
    await (await stack.vault.connect(operator).stake(parseEther("5"), { value: parseEther("5") })).wait();
    await (await stack.vault.connect(operator).setService(stack.modelId, 0, true)).wait();
    const deadline = BigInt((await chain.provider.getBlock("latest"))!.timestamp + 3600);
    const first = await settleOnce(k, md, stack, chain, deadline, run * 2);
    const second = await settleOnce(k, md, stack, chain, deadline, run * 2 + 1);
    return { ...second, firstSettleGas: first.settleGas };
  } finally {
    await chain.close();
  }
}

async function settleOnce(
  k: number,
  md: ReturnType<typeof loadModelDir>,
  stack: Awaited<ReturnType<typeof deployZkStack>>,
  chain: Awaited<ReturnType<typeof startInProcessChain>>,
  deadline: bigint,
  round: number,
): Promise<Omit<Run, "firstSettleGas">> {
  const operator = stack.accounts[3]!;
  {
    const samples = Array.from({ length: k }, (_, s) => (round * 16 + s) % testSet.inputs.length);
    const inputs = samples.map((i) => Uint8Array.from(testSet.inputs[i]!));
    // The first request under a model's terms also stores the terms snapshot: made first, not measured.
    await sendZkRequest(stack, "user-eth", Uint8Array.from(testSet.inputs[testSet.inputs.length - 1]!), deadline);
    const ids: bigint[] = [];
    const createGas: number[] = [];
    for (const input of inputs) {
      const id = await sendZkRequest(stack, "user-eth", input, deadline);
      const [created] = await stack.market.queryFilter(stack.market.filters.RequestCreated(id));
      createGas.push(Number((await chain.provider.getTransactionReceipt(created!.transactionHash))!.gasUsed));
      ids.push(id);
    }
    const qs = inputs.map((bytes) => quantizeInput(md.graph, Array.from(bytes)));
    const verifier = new Contract(stack.verifier, VERIFIER_ABI, operator);
    // A sha256 batch's signals are the batch's: its packing (hashing every slot's bytes) is measured whole, / k.
    const hashedBatch = k > 1 && inputCommitmentOf(md.manifest) === "sha256";
    const packCall = hashedBatch
      ? await verifier.getFunction("packBatchPublicSignals").populateTransaction(
          inputs,
          qs.map((q) => [BigInt(quantizedLabel(md, q))]),
        )
      : await verifier
          .getFunction("packPublicSignals")
          .populateTransaction(inputs[0]!, [BigInt(quantizedLabel(md, qs[0]!))]);
    const packGas =
      (Number(await chain.provider.estimateGas({ ...packCall, from: operator.address })) -
        TX_BASE -
        calldataGas(packCall.data)) /
      (hashedBatch ? k : 1);
    const started = performance.now();
    let settled: TransactionReceipt;
    let verified: TransactionReceipt;
    if (k === 1) {
      const pf = await proveQuantized(md, qs[0]!);
      const proveMs = performance.now() - started;
      const { a, b, c } = pf.calldata;
      settled = (await (
        await stack.market
          .connect(operator)
          .fulfill(ids[0]!, encodeOutput(pf.decoded.output), encodeZkProof(inputs[0]!, { a, b, c }))
      ).wait())!;
      verified = (await (
        await verifier.getFunction("verifyInference").send(a, b, c, inputs[0]!, pf.decoded.output)
      ).wait())!;
      return { settleGas: Number(settled.gasUsed), verifyGas: Number(verified.gasUsed), packGas, createGas, proveMs };
    }
    const pf = await proveBatch(md, qs);
    const proveMs = performance.now() - started;
    const { a, b, c } = pf.calldata;
    const slots = pf.decoded.map((d, s) => ({ input: inputs[s]!, output: d.output }));
    settled = (await (
      await stack.market.connect(operator).fulfillBatch(ids, encodeZkBatchProof({ a, b, c }, slots))
    ).wait())!;
    verified = (await (
      await verifier.getFunction("verifyInferences").send(
        a,
        b,
        c,
        slots.map((s) => s.input),
        slots.map((s) => s.output),
      )
    ).wait())!;
    for (const id of ids) {
      if ((await stack.market.getRequest(id)).status !== 4n) throw new Error(`request ${id} not settled`);
    }
    return { settleGas: Number(settled.gasUsed), verifyGas: Number(verified.gasUsed), packGas, createGas, proveMs };
  }
}

const results: Record<string, unknown> = {};
for (const entry of BATCHES) {
  const [kText, commitment = "packed"] = entry.split(":");
  const k = Number(kText);
  const build =
    commitment === "sha256"
      ? await digitsMlpSha256Build(k)
      : k === 1
        ? "models/build/digits-mlp"
        : await digitsMlpBatchBuild(k);
  const md = loadModelDir(build);
  const runs: Run[] = [];
  for (let r = 0; r < RUNS; r++) {
    process.stderr.write(`[bench-batch] ${entry} run ${r + 1}/${RUNS}\n`);
    runs.push(await runOnce(k, build, r));
  }
  const settle = median(runs.map((r) => r.settleGas));
  const verify = median(runs.map((r) => r.verifyGas)) - TX_BASE;
  results[commitment === "packed" ? `k=${k}` : `k=${k} ${commitment}`] = {
    batch: k,
    input_commitment: commitment,
    build: path.relative(process.cwd(), build),
    constraints: md.manifest.circuit.constraints,
    public_signals: md.manifest.publicSignals.length,
    settle_tx_gas_median: settle,
    first_settle_tx_gas_median: median(runs.map((r) => r.firstSettleGas)),
    gas_per_inference: Math.round(settle / k),
    verification_gas_per_inference: Math.round(verify / k),
    of_which_packing_gas_per_inference: Math.round(median(runs.map((r) => r.packGas))),
    settlement_gas_per_inference: Math.round((settle - verify) / k),
    create_request_gas_median: median(runs.flatMap((r) => r.createGas)),
    prove_ms_median: Math.round(median(runs.map((r) => r.proveMs))),
    prove_ms_per_inference: Math.round(median(runs.map((r) => r.proveMs)) / k),
  };
}
await terminateSnarkjs();
const report = {
  tool: "scripts/bench-batch.ts",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  params: {
    runs: RUNS,
    model: "digits MLP (models/digits-mlp.onnx, 64 inputs, 10 classes), development Groth16 keys",
    chain: "Hardhat in-process (EDR), automine; ETH requests without callbacks, every slot a real request",
  },
  notes:
    "gas_per_inference = settling transaction / k (k = 1: fulfill; k > 1: fulfillBatch of k requests), the operator's second " +
    "settlement in the run (its and the treasury's balances exist: what every later settlement costs; first_settle_tx_gas also creates them); " +
    "sha256: input commitment sha256, one public signal hashing every slot's input bytes (circom backend, circomlib SHA-256 in the circuit); " +
    "verification = the verifier's verifyInference(s) as its own transaction less 21,000, / k (of which packing: one slot's " +
    "packPublicSignals execution, its calldata and the 21,000 excluded); settlement = the rest, / k; " +
    "create_request_gas is per request, on top (the first request under the model's terms, which stores the terms snapshot, excluded)",
  results,
};
await mkdir("bench/results", { recursive: true });
await writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\nwritten ${OUT}\n`);
