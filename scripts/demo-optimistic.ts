/**
 * opML demo on Hardhat's in-process chain served over JSON-RPC: the digits MLP and CNN registered in
 * optimistic mode; an honest operator bot (roles worker + challenger: it serves requests and would
 * defend its results) and an independent challenger bot; a batch of requests that finalize after the
 * challenge window; and one scripted dispute: a cheating operator submits a wrong label with a
 * consistent wrong trace, defends it move by move, and loses the one-step to the challenger bot, which
 * finalizes the rejection (operator slashed, requester refunded).
 *
 * Run: npx hardhat run scripts/demo-optimistic.ts     (DEMO_REQUESTS=n per model, default 3)
 */
import { startInProcessChain } from "./lib/in-process-chain.js";
import { inlineEthRequest } from "./lib/requests.js";
import { ResettingNonceManager } from "../operator/src/chain/nonce.js";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { pino } from "pino";
import { formatEther, parseEther } from "ethers";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";
import { devAccount } from "./lib/accounts.js";
import { MODE_OPTIMISTIC, deployOptimisticModule, registerOptimisticModel } from "./lib/optimistic.js";
import { operatorConfig } from "../operator/src/config.js";
import { createExecutor } from "../operator/src/executors/index.js";
import { OperatorRuntime } from "../operator/src/runtime.js";
import { loadOptimisticModel } from "../operator/src/optimistic/model.js";
import { decodeOutput } from "../operator/src/optimistic/trace.js";
import { Phase } from "../operator/src/optimistic/game.js";
import { settledOutput } from "../operator/src/chain/results.js";
import { stageCheat } from "./lib/optimistic-cheat.js";

const WORK_DIR = ".veriml/demo-optimistic";
const PER_MODEL = Number(process.env.DEMO_REQUESTS ?? 3);
const WINDOW = 600;
const PRICE = parseEther("0.01");

const chain = await startInProcessChain();
const { rpcUrl, provider } = chain;
console.log(`in-process chain on ${rpcUrl}`);
const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
await rm(WORK_DIR, { recursive: true, force: true });
await mkdir(WORK_DIR, { recursive: true });

const deployer = new ResettingNonceManager(devAccount(0, provider));
const user = new ResettingNonceManager(devAccount(2, provider));
const cheater = new ResettingNonceManager(devAccount(5, provider));
const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: devAccount(1, provider).address });
const optimistic = await deployOptimisticModule(suite, deployer);
const builds = {
  mlp: loadOptimisticModel("models/build/digits-mlp"),
  cnn: loadOptimisticModel("models/build/digits-cnn"),
};
const ids: Record<string, bigint> = {};
for (const [name, model] of Object.entries(builds)) {
  ({ modelId: ids[name]! } = await registerOptimisticModel(suite.registry, deployer, {
    buildDir: model.dir,
    artifactURI: `file://${model.dir}`,
    ethPrice: PRICE,
    operatorStake: parseEther("1"),
    challengeWindow: WINDOW,
    clock: 300,
    challengerBond: parseEther("0.5"),
  }));
}
await (await suite.vault.connect(cheater).stake(parseEther("5"), { value: parseEther("5") })).wait();
await (await suite.vault.connect(cheater).setService(ids.mlp!, 0, true)).wait();

const send = async (modelId: bigint, sampleIndex: number): Promise<bigint> => {
  const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 7200);
  const input = Uint8Array.from(testSet.inputs[sampleIndex]!);
  const params = inlineEthRequest(modelId, MODE_OPTIMISTIC, input, PRICE, deadline);
  await (await suite.market.connect(user).createRequest(params, { value: PRICE })).wait();
  return suite.market.requestCount();
};

// The scripted cheater takes the first MLP request before any bot runs: fc1 computed with a wrong bias.
const cheatSample = 2;
const cheatId = await send(ids.mlp!, cheatSample);
const cheat = await stageCheat(
  suite.market,
  optimistic,
  cheater,
  builds.mlp.graph,
  cheatId,
  Uint8Array.from(testSet.inputs[cheatSample]!),
);
console.log(`request ${cheatId}: cheater submitted label ${cheat.claimed} (true digit ${testSet.labels[cheatSample]})`);

const log = pino({ level: process.env.LOG_LEVEL ?? "warn" });
const startBot = async (name: string, account: number, roles: string[]): Promise<OperatorRuntime> => {
  const config = operatorConfig({
    rpcUrl,
    privateKey: devAccount(account, provider).privateKey,
    market: await suite.market.getAddress(),
    roles,
    models: Object.entries(builds).map(([n, m]) => ({
      modelId: ids[n]!.toString(),
      artifacts: m.dir,
      modes: [MODE_OPTIMISTIC],
    })),
    storePath: path.join(WORK_DIR, `${name}.sqlite`),
    // enough free stake for every claim (1 ETH each) and a challenger bond
    stakeWei: parseEther("20").toString(),
    pollIntervalMs: 150,
  });
  const runtime = new OperatorRuntime(
    config,
    (m, mode) => createExecutor(m, mode, log.child({ bot: name })),
    log.child({ bot: name }),
  );
  await runtime.start();
  return runtime;
};
const honest = await startBot("operator", 3, ["worker", "challenger"]);
const watcher = await startBot("challenger", 4, ["challenger"]);
const challengerAddr = devAccount(4, provider).address;

const batch: bigint[] = [];
for (let i = 0; i < PER_MODEL; i++) for (const n of ["mlp", "cnn"]) batch.push(await send(ids[n]!, 10 + batch.length));

const waitFor = async (what: string, check: () => Promise<boolean>, ms = 120_000) => {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
};
const started = performance.now();
// The cheater defends its trace move by move; the challenger bot plays the other side.
await waitFor(
  "the challenge",
  async () => Number((await optimistic.getGame(cheatId, challengerAddr)).phase) !== Phase.None,
);
await cheat.defend(challengerAddr);
await waitFor("the rejection", async () => (await suite.market.getRequest(cheatId)).status === 4n);
const disputeMs = Math.round(performance.now() - started);

await waitFor("all submissions", async () => {
  for (const id of batch) if ((await suite.market.getRequest(id)).status < 3n) return false;
  return true;
});
await provider.send("evm_increaseTime", [WINDOW + 1]);
await provider.send("evm_mine", []);
await waitFor("all finalized", async () => {
  for (const id of batch) if ((await suite.market.getRequest(id)).status !== 4n) return false;
  return true;
});
await honest.stop();
await watcher.stop();

const g = await optimistic.getGame(cheatId, challengerAddr);
const rows = [];
for (const id of [cheatId, ...batch]) {
  const r = await suite.market.getRequest(id);
  const result = await settledOutput(suite.market, id);
  const sampleIndex = id === cheatId ? cheatSample : 10 + batch.indexOf(id);
  const proposed = decodeOutput(await optimistic.outputOf(id));
  rows.push({
    request: id.toString(),
    model: r.modelId === ids.mlp ? "digits-mlp" : "digits-cnn",
    operator: r.operator === devAccount(3, provider).address ? "honest bot" : "cheater",
    "claimed label": proposed[0]!.toString(),
    "dataset label": testSet.labels[sampleIndex],
    challenges: (await optimistic.challengersOf(id)).length,
    settled: result === "0x" ? "rejected, refunded" : `label ${decodeOutput(result)[0]}`,
  });
}
console.table(rows);
console.log(
  `dispute on request ${cheatId}: ${g.moves} moves, disputed tensor ${g.tensor} element ${g.position}, ` +
    `challenger ${Number(g.outcome) === 2 ? "won" : "lost"} by the one-step in ${disputeMs} ms; ` +
    `cheater stake now ${formatEther((await suite.vault.stakeOf(devAccount(5, provider).address)).total)} ETH, ` +
    `challenger slash proceeds ${formatEther(await suite.vault.slashProceedsOf(challengerAddr))} ETH`,
);
await chain.close();
