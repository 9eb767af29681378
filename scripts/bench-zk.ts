/**
 * zk end-to-end benchmark on the in-process chain served over JSON-RPC, with the operator bot as a
 * separate process: latency from createRequest to verified settlement, throughput of one operator,
 * and gas per settled request (submit with proof verification + finalize). Medians over several runs.
 *
 *   npx hardhat run scripts/bench-zk.ts     (env: BENCH_RUNS default 3, BENCH_BATCH default 8)
 * Writes bench/results/zk-e2e.json.
 */
import { median } from "../verifier-gen/src/stats.js";
import { startInProcessChain } from "./lib/in-process-chain.js";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { parseEther } from "ethers";
import { startOperatorProcess, stopProcess } from "./lib/operator-process.js";
import { MODE_ZK } from "./lib/zk.js";
import { deployZkStack, sendZkRequest } from "./lib/zk-stack.js";

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const BATCH = Math.max(1, Number(process.env.BENCH_BATCH ?? 8));
const MODELS = ["digits-mlp", "digits-cnn"];
const OUT = "bench/results/zk-e2e.json";

const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };

interface RunResult {
  latencyMs: number[];
  batchWallMs: number;
  gasSubmit: number[];
  gasFinalize: number[];
}

async function runOnce(model: string): Promise<RunResult> {
  const build = `models/build/${model}`;
  const chain = await startInProcessChain(50);
  const { rpcUrl, provider } = chain;
  const stack = await deployZkStack(provider, build, 0);
  const workDir = `.veriml/bench-zk/${model}`;
  await rm(workDir, { recursive: true, force: true });
  const operator = stack.accounts[3]!;
  const { child } = await startOperatorProcess({
    workDir,
    rpcUrl,
    market: await stack.market.getAddress(),
    privateKey: operator.privateKey,
    models: [{ modelId: stack.modelId, artifacts: build, modes: [MODE_ZK] }],
    stakeWei: parseEther("10"),
    pollIntervalMs: 50,
  });
  try {
    while (!(await stack.vault.isServing(operator.address, stack.modelId, 0)))
      await new Promise((r) => setTimeout(r, 100));
    // Warm-up request (loads the proving key and wasm in the operator), not measured.
    const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 3600);
    const warm = await sendZkRequest(stack, "user-eth", Uint8Array.from(testSet.inputs[0]!), deadline);
    while ((await stack.market.getRequest(warm)).status !== 4n) await new Promise((r) => setTimeout(r, 50));

    const sentAt = new Map<bigint, number>();
    const batchStart = performance.now();
    for (let i = 1; i <= BATCH; i++) {
      const id = await sendZkRequest(stack, "user-eth", Uint8Array.from(testSet.inputs[i]!), deadline);
      sentAt.set(id, performance.now());
    }
    const settledAt = new Map<bigint, number>();
    while (settledAt.size < sentAt.size) {
      for (const id of sentAt.keys()) {
        if (!settledAt.has(id) && (await stack.market.getRequest(id)).status === 4n)
          settledAt.set(id, performance.now());
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    const batchWallMs = Math.max(...settledAt.values()) - batchStart;
    const result: RunResult = { latencyMs: [], batchWallMs, gasSubmit: [], gasFinalize: [] };
    for (const [id, t] of sentAt) {
      result.latencyMs.push(settledAt.get(id)! - t);
      const [submitted] = await stack.market.queryFilter(stack.market.filters.ResultSubmitted(id));
      const [finalized] = await stack.market.queryFilter(stack.market.filters.RequestFinalized(id));
      result.gasSubmit.push(Number((await provider.getTransactionReceipt(submitted!.transactionHash))!.gasUsed));
      result.gasFinalize.push(Number((await provider.getTransactionReceipt(finalized!.transactionHash))!.gasUsed));
    }
    return result;
  } finally {
    await stopProcess(child, "SIGTERM");
    await chain.close();
  }
}

const results: Record<string, unknown> = {};
for (const model of MODELS) {
  const runs: RunResult[] = [];
  for (let r = 0; r < RUNS; r++) {
    process.stderr.write(`[bench-zk] ${model} run ${r + 1}/${RUNS}\n`);
    runs.push(await runOnce(model));
  }
  const latencies = runs.map((r) => median(r.latencyMs));
  const throughputs = runs.map((r) => (BATCH * 1000) / r.batchWallMs);
  const submit = median(runs.flatMap((r) => r.gasSubmit));
  const finalize = median(runs.flatMap((r) => r.gasFinalize));
  results[model] = {
    latency_ms_median: Math.round(median(latencies)),
    latency_ms_per_run: latencies.map(Math.round),
    throughput_rps_median: Number(median(throughputs).toFixed(3)),
    throughput_rps_per_run: throughputs.map((t) => Number(t.toFixed(3))),
    gas_submit_median: submit,
    gas_finalize_median: finalize,
    gas_per_settled_request: submit + finalize,
  };
}
const report = {
  tool: "scripts/bench-zk.ts",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  params: {
    runs: RUNS,
    batch: BATCH,
    chain: "Hardhat in-process (EDR) over JSON-RPC, automine",
    operator: "separate process",
  },
  notes:
    "latency: createRequest mined -> Finalized observed (claim, witness, Groth16 prove, submit, finalize); one operator proves sequentially",
  results,
};
await mkdir("bench/results", { recursive: true });
await writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\nwritten ${OUT}\n`);
