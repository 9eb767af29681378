/**
 * Burst benchmark (issue 11): 200 paid zk requests on the digits MLP at once against real operator
 * processes on a `hardhat node` over JSON-RPC; latency from the request being mined to its settlement being
 * seen (p50/p95/max) and throughput, with one operator and with two. Writes bench/results/burst.json.
 * BURST_REQUESTS overrides the burst size.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { JsonRpcProvider, parseEther } from "ethers";
import { startHardhatNode } from "./lib/hardhat-node.js";
import { startOperatorProcess, stopProcess } from "./lib/operator-process.js";
import { MODE_ZK } from "./lib/zk.js";
import { ZK_PRICE, deployZkStack } from "./lib/zk-stack.js";
import { inlineEthRequest } from "./lib/requests.js";
import { median } from "../verifier-gen/src/stats.js";

const BUILD = "models/build/digits-mlp";
const N = Number(process.env.BURST_REQUESTS ?? 200);
const WORK = ".veriml/bench-burst";

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

async function run(operatorCount: number) {
  const { child: node, rpcUrl } = await startHardhatNode();
  const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
  const children = [];
  try {
    const stack = await deployZkStack(provider, BUILD, 3);
    await rm(WORK, { recursive: true, force: true });
    for (let i = 0; i < operatorCount; i++) {
      const account = stack.accounts[3 + i]!;
      const { child } = await startOperatorProcess({
        workDir: path.join(WORK, `operator-${i}`),
        rpcUrl,
        market: await stack.market.getAddress(),
        privateKey: account.privateKey,
        models: [{ modelId: stack.modelId, artifacts: BUILD, modes: [MODE_ZK] }],
        stakeWei: parseEther("50"),
        extra: { logLevel: "warn", maxBacklog: 8 },
      });
      children.push(child);
    }
    while ((await stack.vault.serverCount(stack.modelId, 0)) < BigInt(operatorCount))
      await new Promise((r) => setTimeout(r, 200));
    const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };
    const fromBlock = await provider.getBlockNumber();
    const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 7200);
    // The burst: every request sent without waiting for the previous one (explicit nonces), each mined at
    // once by the automining node; ids are consecutive from the current count.
    const createdAt = new Map<bigint, number>();
    const user = stack.accounts[2]!;
    const firstId = (await stack.market.requestCount()) + 1n;
    let nonce = await provider.getTransactionCount(user.address, "pending");
    const t0 = Date.now();
    const sends = [];
    for (let r = 0; r < N; r++) {
      const input = Uint8Array.from(testSet.inputs[r % testSet.inputs.length]!);
      const params = inlineEthRequest(stack.modelId, MODE_ZK, input, ZK_PRICE, deadline);
      const id = firstId + BigInt(r);
      sends.push(
        stack.market
          .connect(user)
          .createRequest(params, { value: ZK_PRICE, nonce: nonce++, gasLimit: 600_000n })
          .then(() => createdAt.set(id, Date.now())),
      );
    }
    await Promise.all(sends);
    const settledAt = new Map<bigint, number>();
    const until = Date.now() + 30 * 60_000;
    while (settledAt.size < N && Date.now() < until) {
      for (const e of await stack.market.queryFilter(stack.market.filters.RequestFinalized(), fromBlock)) {
        if (!settledAt.has(e.args.requestId)) settledAt.set(e.args.requestId, Date.now());
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const latencies = [...settledAt].map(([id, t]) => (t - createdAt.get(id)!) / 1000);
    const last = Math.max(...settledAt.values());
    return {
      operators: operatorCount,
      requests: N,
      settled: settledAt.size,
      latency_s: {
        p50: quantile(latencies, 0.5),
        p95: quantile(latencies, 0.95),
        max: Math.max(...latencies),
        median: median(latencies),
      },
      throughput_rps: settledAt.size / ((last - t0) / 1000),
      burst_send_s: (Math.max(...createdAt.values()) - t0) / 1000,
    };
  } finally {
    for (const c of children) await stopProcess(c, "SIGTERM");
    provider.destroy();
    await stopProcess(node, "SIGKILL");
  }
}

const results = [];
for (const operators of [1, 2]) {
  process.stderr.write(`[burst] ${N} requests, ${operators} operator(s)\n`);
  const r = await run(operators);
  process.stderr.write(`[burst]   ${JSON.stringify(r)}\n`);
  results.push(r);
}
const baseline = {
  p50_latency_s: 75,
  throughput_rps: 1.31,
  note: "issue 11: one operator, 200 requests, before the pipeline",
};
await mkdir("bench/results", { recursive: true });
await writeFile(
  "bench/results/burst.json",
  `${JSON.stringify(
    {
      tool: "scripts/bench-burst.ts",
      date: new Date().toISOString(),
      machine: { cpus: availableParallelism(), node: process.version },
      notes:
        "zk digits MLP, operators as separate processes on a hardhat node over JSON-RPC (automine); latency = request mined -> RequestFinalized seen",
      baseline,
      results: results.map((r) => ({
        ...r,
        p50_speedup_vs_baseline: Math.round((baseline.p50_latency_s / r.latency_s.p50) * 10) / 10,
        throughput_vs_baseline: Math.round((r.throughput_rps / baseline.throughput_rps) * 100) / 100,
      })),
    },
    null,
    2,
  )}\n`,
);
console.table(
  results.map((r) => ({
    operators: r.operators,
    settled: r.settled,
    p50: r.latency_s.p50,
    p95: r.latency_s.p95,
    max: r.latency_s.max,
    rps: r.throughput_rps,
  })),
);
