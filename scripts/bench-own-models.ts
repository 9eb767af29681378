/**
 * Gas per step for users' own models (the PyTorch fixtures iris_mlp, diabetes_relu and wine_probs) in zk, optimistic
 * and sampling mode: the in-process chain over JSON-RPC, two operator processes (worker + sampler), requests
 * paid through the client with float inputs. Per step (create, claim, submit, finalize) the gas of that
 * transaction; "whole request" sums every transaction mined from the request's creation to its settlement
 * (sampler draws, commits and reveals, randomness included). Medians over BENCH_REQUESTS requests (default 3).
 *
 *   npx hardhat run scripts/bench-own-models.ts     -> bench/results/own-models.json
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { parseEther } from "ethers";
import { pino } from "pino";
import { VerimlClient } from "../operator/src/client.js";
import { quantizeFloatInput } from "../verifier-gen/src/interface.js";
import { median } from "../verifier-gen/src/stats.js";
import { devAccount } from "./lib/accounts.js";
import { ALL_MODES, CHALLENGE_WINDOW, deployAllModes, type ModeName } from "./lib/all-modes.js";
import { startInProcessChain } from "./lib/in-process-chain.js";
import { startOperatorProcess, stopProcess } from "./lib/operator-process.js";

const MODELS = ["iris_mlp", "diabetes_relu", "wine_probs"];
const REQUESTS = Math.max(1, Number(process.env.BENCH_REQUESTS ?? 3));
const OUT = "bench/results/own-models.json";

const chain = await startInProcessChain(50);
const { provider, rpcUrl } = chain;
const stack = await deployAllModes(
  provider,
  MODELS.map((m) => `models/build/${m}`),
);
const workDir = ".veriml/bench-own-models";
await rm(workDir, { recursive: true, force: true });
const operators = [];
for (const account of [3, 4]) {
  const { child } = await startOperatorProcess({
    workDir: `${workDir}/operator-${account}`,
    rpcUrl,
    market: await stack.suite.market.getAddress(),
    privateKey: devAccount(account, provider).privateKey,
    models: stack.served,
    stakeWei: parseEther("20"),
    roles: ["worker", "sampler"],
    pollIntervalMs: 100,
  });
  operators.push(child);
}
const client = new VerimlClient(
  await stack.suite.market.getAddress(),
  devAccount(2, provider),
  pino({ level: "silent" }),
);
const results: Record<string, unknown>[] = [];
try {
  const firstSampled = stack.ids.get(`models/build/${MODELS[0]}`)!.sampling;
  while ((await stack.suite.vault.serverCount(firstSampled, 0)) < 2n) await new Promise((r) => setTimeout(r, 200));
  for (const model of MODELS) {
    const data = JSON.parse(await readFile(`models/pytorch/${model}.json`, "utf8")) as { inputs: number[][] };
    for (const mode of Object.keys(ALL_MODES) as ModeName[]) {
      const modelId = stack.ids.get(`models/build/${model}`)![mode];
      const modelInterface = await client.modelInterface(modelId);
      const perStep: Record<string, number[]> = {
        create: [],
        claim: [],
        submit: [],
        finalize: [],
        fulfill: [],
        whole: [],
      };
      for (let r = 0; r < REQUESTS; r++) {
        const { bytes } = quantizeFloatInput(modelInterface, data.inputs[r]!);
        const { requestId } = await client.request({
          modelId,
          mode: ALL_MODES[mode],
          input: bytes,
          deadlineSeconds: 7200,
        });
        for (;;) {
          const status = (await stack.suite.market.getRequest(requestId)).status;
          if (status === 4n || status === 5n) break;
          if (mode === "optimistic" && status === 3n) await provider.send("evm_increaseTime", [CHALLENGE_WINDOW + 1]);
          await provider.send("evm_mine", []);
          await new Promise((res) => setTimeout(res, 200));
        }
        const outcome = await client.show(requestId);
        if (outcome.status !== "Finalized") throw new Error(`${model} ${mode}: request ${requestId} ${outcome.status}`);
        for (const step of outcome.steps) perStep[step.step]?.push(Number(step.gasUsed));
        const first = (await provider.getTransactionReceipt(outcome.txs.create!))!.blockNumber;
        const last = (await provider.getTransactionReceipt((outcome.txs.finalize ?? outcome.txs.fulfill)!))!
          .blockNumber;
        let whole = 0;
        for (let b = first; b <= last; b++) {
          for (const hash of (await provider.getBlock(b))?.transactions ?? []) {
            whole += Number((await provider.getTransactionReceipt(hash))!.gasUsed);
          }
        }
        perStep.whole!.push(whole);
      }
      const row = {
        model,
        mode,
        requests: REQUESTS,
        gas: Object.fromEntries(Object.entries(perStep).map(([k, v]) => [k, v.length > 0 ? median(v) : null])),
      };
      process.stderr.write(`[bench] ${JSON.stringify(row)}\n`);
      results.push(row);
    }
  }
} finally {
  for (const child of operators) await stopProcess(child, "SIGTERM");
  await chain.close();
}
await mkdir("bench/results", { recursive: true });
await writeFile(
  OUT,
  `${JSON.stringify(
    {
      tool: "scripts/bench-own-models.ts",
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version },
      notes:
        "gas per step, median over requests; whole = every transaction mined from creation to settlement (one request in flight at a time)",
      results,
    },
    null,
    2,
  )}\n`,
);
console.table(
  results.map((r) => {
    const g = (r as { gas: Record<string, number | null> }).gas;
    return { model: r.model, mode: r.mode, ...g };
  }),
);
process.exit(0);
