/**
 * spML demo on Hardhat's in-process chain served over JSON-RPC: the digits MLP and CNN are registered in
 * sampling mode; two operator bots (roles worker + sampler, separate OS processes) serve and sample each
 * other, three validator bots (separate OS processes) stand by as the arbitration committee. The script
 * sends a batch of paid requests, and plays one cheating operator itself: it claims a request, commits to a
 * wrong label and reveals it once a sampler bot committed; the sampler disagrees, the validator bots vote,
 * the cheat is slashed and the requester receives the correct label. Prints a table of what happened.
 *
 * Run: npx hardhat run scripts/demo-sampling.ts     (DEMO_REQUESTS=n, DEMO_P=bps of sampling, default 5000)
 */
import { decodeOutput, encodeOutput } from "../verifier-gen/src/encoding.js";
import { waitFor as waitUntil } from "./lib/wait.js";
import { startInProcessChain } from "./lib/in-process-chain.js";
import { inlineEthRequest } from "./lib/requests.js";
import { readFile, rm } from "node:fs/promises";
import type { ChildProcess } from "node:child_process";
import { AbiCoder, ZeroAddress, formatEther, keccak256, parseEther } from "ethers";
import { runInt, type IntGraph } from "../verifier-gen/src/intgraph.js";
import { quantizeInput } from "../verifier-gen/src/quantize.js";
import { samplingCommitment } from "../operator/src/executors/sampling.js";
import { devAccount } from "./lib/accounts.js";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";
import { startOperatorProcess, stopProcess } from "./lib/operator-process.js";
import { MODE_SAMPLING, deploySamplingModule, encodeSamplingConfig, registerSamplingModel } from "./lib/sampling.js";
import { settledOutput } from "../operator/src/chain/results.js";

const BUILDS = ["models/build/digits-mlp", "models/build/digits-cnn"];
const WORK_DIR = ".veriml/demo-sampling";
const BATCH = Number(process.env.DEMO_REQUESTS ?? 6);
const SAMPLE_BPS = Number(process.env.DEMO_P ?? 5000);
const PRICE = parseEther("0.01");
const abi = AbiCoder.defaultAbiCoder();

const chain = await startInProcessChain();
const { rpcUrl, provider } = chain;
const [deployer, treasury, user, cheater] = [0, 1, 2, 9].map((i) => devAccount(i, provider));
const operators = [3, 4].map((i) => devAccount(i, provider));
const validators = [5, 6, 7].map((i) => devAccount(i, provider));
if (!deployer || !treasury || !user || !cheater) throw new Error("unreachable");
console.log(`in-process chain on ${rpcUrl}`);

const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: treasury.address });
const { market, vault, registry } = suite;
const { sampling, committee } = await deploySamplingModule(suite, deployer, {
  committee: {
    committeeSize: 3,
    slashBps: 10_000,
    commitWindow: 600,
    revealWindow: 600,
    validatorStake: parseEther("1"),
  },
  arbitrationTimeout: 3 * 3600,
});
const config = {
  sampleBps: SAMPLE_BPS,
  verifierFeeBps: 10_000,
  samplerNoShowSlashBps: 2_000,
  maxDraws: 2,
  commitWindow: 600,
  revealWindow: 600,
  arbitrator: await committee.getAddress(),
};
const models: { modelId: bigint; build: string; graph: IntGraph }[] = [];
for (const build of BUILDS) {
  const { modelId } = await registerSamplingModel(registry, deployer, {
    buildDir: build,
    artifactURI: `file://${build}`,
    ethPrice: PRICE,
    operatorStake: parseEther("0.5"),
    config,
  });
  models.push({ modelId, build, graph: JSON.parse(await readFile(`${build}/intgraph.json`, "utf8")) as IntGraph });
}
const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };
const truth = (m: (typeof models)[number], i: number): bigint =>
  BigInt(runInt(m.graph, quantizeInput(m.graph, testSet.inputs[i]!)).output[0]!);

// The cheater: a staked operator of the MLP, run by this script (not a bot).
const mlp = models[0]!;
await (await vault.connect(cheater).stake(parseEther("2"), { value: parseEther("2") })).wait();
await (await vault.connect(cheater).setService(mlp.modelId, 0, true)).wait();

async function createRequest(modelId: bigint, sample: number): Promise<bigint> {
  const [, fee] = await market.quote(modelId, MODE_SAMPLING, ZeroAddress);
  const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 3600);
  const tx = await market
    .connect(user)
    .createRequest(
      inlineEthRequest(modelId, MODE_SAMPLING, Uint8Array.from(testSet.inputs[sample]!), PRICE + fee, deadline),
      { value: PRICE + fee },
    );
  await tx.wait();
  return market.requestCount();
}

// The cheated request is always sampled (its config snapshot says p = 100%) and claimed before the bots start.
await (
  await registry
    .connect(deployer)
    .configureMode(mlp.modelId, MODE_SAMPLING, encodeSamplingConfig({ ...config, sampleBps: 10_000 }))
).wait();
const cheatSample = 30;
const cheatId = await createRequest(mlp.modelId, cheatSample);
await (await market.connect(cheater).claim(cheatId)).wait();
// It stops serving after the claim, so it is never drawn as a sampler (it runs no bot to answer).
await (await vault.connect(cheater).setService(mlp.modelId, 0, false)).wait();
await (await registry.connect(deployer).configureMode(mlp.modelId, MODE_SAMPLING, encodeSamplingConfig(config))).wait();

await rm(WORK_DIR, { recursive: true, force: true });
const children: ChildProcess[] = [];
const servedModels = models.map((m) => ({ modelId: m.modelId, artifacts: m.build, modes: [MODE_SAMPLING] }));
for (const [i, op] of operators.entries()) {
  const { child } = await startOperatorProcess({
    workDir: `${WORK_DIR}/operator-${i}`,
    rpcUrl,
    market: await market.getAddress(),
    privateKey: op.privateKey,
    models: servedModels,
    stakeWei: parseEther("5"),
    roles: ["worker", "sampler"],
  });
  children.push(child);
}
for (const [i, v] of validators.entries()) {
  const { child } = await startOperatorProcess({
    workDir: `${WORK_DIR}/validator-${i}`,
    rpcUrl,
    market: await market.getAddress(),
    privateKey: v.privateKey,
    models: servedModels,
    stakeWei: parseEther("3"),
    roles: ["validator"],
  });
  children.push(child);
}
console.log(
  `started ${operators.length} operator bots (worker+sampler) and ${validators.length} validator bots; logs in ${WORK_DIR}/`,
);

/** Mines a block now and then: block-hash randomness needs blocks after each commitment. */
const miner = setInterval(() => void provider.send("evm_mine", []).catch(() => undefined), 400);
const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> =>
  waitUntil(what, check, { timeoutMs, intervalMs: 200, hint: `see ${WORK_DIR}/*/operator.log` });
for (const a of [...operators, ...validators]) {
  await waitFor(`${a.address} to start`, async () => (await vault.stakeOf(a.address)).total > 0n, 90_000);
}
await waitFor("validators to serve", async () => (await vault.serverCount(mlp.modelId, 1)) >= 3n, 90_000);

const sent: { id: bigint; model: string; sample: number }[] = [];
for (let i = 0; i < BATCH; i++) {
  const m = models[i % models.length]!;
  sent.push({ id: await createRequest(m.modelId, i), model: m.build.split("/").pop()!, sample: i });
}
console.log(
  `sent ${BATCH} paid requests (p = ${SAMPLE_BPS / 100}%); request ${cheatId} is served by a cheating operator\n`,
);

// The cheat: commit to a wrong label, reveal it once the sampler bot is bound.
const cheatSalt = keccak256(abi.encode(["string"], ["demo cheat"]));
const wrong = encodeOutput([(truth(mlp, cheatSample) + 1n) % 10n]);
await (
  await market
    .connect(cheater)
    .submitResult(
      cheatId,
      "0x",
      abi.encode(["bytes32"], [samplingCommitment(cheatId, cheater.address, { output: wrong, salt: cheatSalt })]),
    )
).wait();
await waitFor(
  "the sampling decision",
  async () => (await sampling.getJob(cheatId)).phase !== 1n || (await sampling.canAdvance(cheatId)),
);
if ((await sampling.getJob(cheatId)).phase === 1n) await (await sampling.connect(cheater).advance(cheatId)).wait();
await waitFor("the sampler's commitment", async () => (await sampling.getJob(cheatId)).phase >= 4n);
await (await sampling.connect(cheater).reveal(cheatId, wrong, cheatSalt)).wait();

const all = [...sent.map((s) => s.id), cheatId];
try {
  await waitFor("every request to settle", async () => {
    for (const id of all) if ((await market.getRequest(id)).status !== 4n) return false;
    return true;
  });
} catch (error) {
  for (const id of all) {
    const job = await sampling.getJob(id);
    console.log(
      `request ${id}: market status ${(await market.getRequest(id)).status}, phase ${job.phase}, sampler ${job.sampler}`,
    );
  }
  throw error;
}
clearInterval(miner);

const header = ["request", "model", "true", "result", "sampled", "sampler", "verdict", "paid", "gas (all txs)"];
const rows: string[][] = [];
const verdicts = ["-", "A accepted", "B accepted (A slashed)", "rejected"];
for (const id of all) {
  const job = await sampling.getJob(id);
  const r = await market.getRequest(id);
  const m = models.find((x) => x.modelId === r.modelId)!;
  const sample = id === cheatId ? cheatSample : sent.find((s) => s.id === id)!.sample;
  const [finalized] = await market.queryFilter(market.filters.RequestFinalized(id));
  // Every transaction that emitted an event about this request (market, module) or its dispute (committee).
  const txs = new Set<string>();
  for (const [c, key] of [
    [market, id],
    [sampling, id],
    [committee, job.disputeId],
  ] as const) {
    if (key === 0n) continue;
    for (const log of await provider.getLogs({ address: await c.getAddress(), fromBlock: 0 })) {
      const parsed = c.interface.parseLog(log);
      if (parsed?.args.length && parsed.args[0] === key) txs.add(log.transactionHash);
    }
  }
  let gas = 0n;
  for (const hash of txs) gas += (await provider.getTransactionReceipt(hash))!.gasUsed;
  rows.push([
    `${id}${id === cheatId ? " (cheat)" : ""}`,
    m.build.split("/").pop()!,
    String(truth(m, sample)),
    decodeOutput(await settledOutput(market, id)).join(","),
    job.sampled ? "yes" : "no",
    job.sampler === ZeroAddress ? "-" : `${job.sampler.slice(0, 8)}...`,
    verdicts[Number(job.verdict)]!,
    `${finalized!.args.payee.slice(0, 8)}...`,
    `${gas} (${txs.size} txs)`,
  ]);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
console.log("(gas: every transaction of the request, create and claim included, and of its dispute)");
const correct = rows.filter((r) => r[2] === r[3]).length;
console.log(`\n${correct}/${rows.length} results equal the model's own label`);
if (correct !== rows.length) throw new Error("a settled result is not the model's own output");
console.log(`cheater stake: ${formatEther((await vault.stakeOf(cheater.address)).total)} ETH (staked 2)`);
for (const v of validators) {
  console.log(
    `validator ${v.address.slice(0, 8)}...: owed ${formatEther(await market.owed(v.address, ZeroAddress))} ETH`,
  );
}
for (const o of operators) {
  console.log(
    `operator ${o.address.slice(0, 8)}...: owed ${formatEther(await market.owed(o.address, ZeroAddress))} ETH`,
  );
}
for (const child of children) await stopProcess(child, "SIGTERM");
await chain.close();
