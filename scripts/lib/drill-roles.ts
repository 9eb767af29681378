/**
 * The reliability drill for the roles that guard other operators' results: the opML challenger, and the
 * spML sampler and validators. Bots run as separate processes through the fault proxy (malformed replies,
 * resets, a SIGKILL mid-duty); scripted cheaters act directly on the node. Judged from the chain: every
 * cheat refused and every honest result accepted exactly once, no honest bot slashed (bonds, locks),
 * escrow equal to liabilities.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { AbiCoder, JsonRpcProvider, ZeroAddress, id, keccak256, parseEther } from "ethers";
import { commitTrace, encodeOutput, encodeSubmissionProof, outputOf } from "../../operator/src/optimistic/trace.js";
import { loadOptimisticModel } from "../../operator/src/optimistic/model.js";
import { samplingCommitment } from "../../operator/src/executors/sampling.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { decodeInputBytes } from "../../verifier-gen/src/encoding.js";
import { devAccount } from "./accounts.js";
import { DEFAULT_PARAMETERS, deploySuite, type Suite } from "./deploy.js";
import { honestCalls, type DrillResult } from "./drill.js";
import { waitFor } from "./wait.js";
import { FaultProxy, type Faults } from "./fault-proxy.js";
import { startHardhatNode } from "./hardhat-node.js";
import { startOperatorProcess, stopProcess } from "./operator-process.js";
import { MODE_OPTIMISTIC, deployOptimisticModule, registerOptimisticModel } from "./optimistic.js";
import { inlineEthRequest } from "./requests.js";
import { MODE_SAMPLING, deploySamplingModule, registerSamplingModel } from "./sampling.js";

const BUILD = "models/build/digits-mlp";
const FAULTS: Faults = { malformed: 0.1, reset: 0.1 };
const BOT_CONFIG = {
  rpcTimeoutMs: 2_000,
  pollIntervalMs: 200,
  retry: { attempts: 3, baseDelayMs: 100 },
  tx: { replaceAfterMs: 4_000, waitMs: 8_000, pollMs: 100 },
  logLevel: "info",
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Bot {
  name: string;
  account: number;
  roles: ("worker" | "challenger" | "sampler" | "validator")[];
  child?: ChildProcess;
}

async function judge(
  fault: string,
  node: JsonRpcProvider,
  suite: Suite,
  ids: bigint[],
  expected: Map<bigint, "finalized" | "rejected">,
  honest: string[],
  fromBlock: number,
  started: number,
  proxy: FaultProxy,
  notes: string[],
): Promise<DrillResult> {
  const ends = new Map<bigint, string[]>();
  for (const [filter, what] of [
    [suite.market.filters.RequestFinalized(), "finalized"],
    [suite.market.filters.RequestRejected(), "rejected"],
    [suite.market.filters.RequestRefunded(), "refunded"],
  ] as const) {
    for (const e of await suite.market.queryFilter(filter, fromBlock)) {
      const id = (e.args as unknown as { requestId: bigint }).requestId;
      ends.set(id, [...(ends.get(id) ?? []), what]);
    }
  }
  const settledOnce = ids.filter((id) => {
    const e = ends.get(id) ?? [];
    return e.length === 1 && e[0] === expected.get(id);
  }).length;
  const set = new Set(honest.map((a) => a.toLowerCase()));
  const slashes = (await suite.vault.queryFilter(suite.vault.filters.StakeSlashed(), fromBlock)).filter((e) =>
    set.has(e.args.staker.toLowerCase()),
  ).length;
  // Calls a bot legitimately repeats with identical calldata (advance through phases) are not duplicates.
  const repeatable = ["advance(uint256)"].map((sig) => id(sig).slice(0, 10));
  const { duplicates, revertedTxs, duplicated } = await honestCalls(node, set, fromBlock, repeatable);
  if (duplicated.length > 0) notes.push(`duplicated: ${duplicated.join("; ")}`);
  const escrowOk =
    (await node.getBalance(await suite.market.getAddress())) === (await suite.market.liabilities(ZeroAddress)) &&
    (await node.getBalance(await suite.vault.getAddress())) === (await suite.vault.totalLiabilities());
  const faults = { ...proxy.counts } as Record<string, number>;
  delete faults.forwarded;
  return {
    fault,
    requests: ids.length,
    settledExactlyOnce: settledOnce,
    duplicates,
    revertedTxs,
    honestSlashes: slashes,
    escrowEqualsLiabilities: escrowOk,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    faultsInjected: Object.fromEntries(Object.entries(faults).filter(([, v]) => v > 0)),
    notes: notes.join("; "),
  };
}

async function startBots(
  bots: Bot[],
  workDir: string,
  proxyUrl: string,
  market: string,
  node: JsonRpcProvider,
  modelId: bigint,
  mode: number,
): Promise<void> {
  for (const bot of bots) {
    const { child } = await startOperatorProcess({
      workDir: path.join(workDir, bot.name),
      rpcUrl: proxyUrl,
      market,
      privateKey: devAccount(bot.account, node).privateKey,
      models: [{ modelId, artifacts: BUILD, modes: [mode] }],
      stakeWei: parseEther("10"),
      roles: bot.roles,
      extra: BOT_CONFIG,
    });
    bot.child = child;
  }
}

/**
 * opML: an honest worker bot serves some requests, a scripted cheater serves others with a wrong trace and
 * then stops answering; a challenger bot under faults (and a SIGKILL after its first challenge) must
 * challenge every cheat, win on the cheater's clock and finalize the rejections, and leave honest results.
 */
export async function runChallengerDrill(requests: number, workRoot: string): Promise<DrillResult> {
  const started = Date.now();
  const fault = "challenger bot: malformed + resets + SIGKILL mid-duty";
  const { child: nodeProcess, rpcUrl } = await startHardhatNode();
  const node = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
  const proxy = new FaultProxy(rpcUrl);
  const workDir = path.join(workRoot, "challenger");
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const bots: Bot[] = [
    { name: "worker", account: 3, roles: ["worker"] },
    { name: "challenger", account: 4, roles: ["challenger"] },
  ];
  const notes: string[] = [];
  try {
    const deployer = devAccount(0, node);
    const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: devAccount(1, node).address });
    const optimistic = await deployOptimisticModule(suite, deployer);
    const clock = 300;
    const { modelId } = await registerOptimisticModel(suite.registry, deployer, {
      buildDir: BUILD,
      artifactURI: `file://${BUILD}`,
      ethPrice: parseEther("0.01"),
      operatorStake: parseEther("1"),
      challengeWindow: 3600,
      clock,
      challengerBond: parseEther("0.5"),
    });
    const cheater = devAccount(5, node);
    await (await suite.vault.connect(cheater).stake(parseEther("20"), { value: parseEther("20") })).wait();
    await (await suite.vault.connect(cheater).setService(modelId, 0, true)).wait();
    const proxyUrl = await proxy.start();
    proxy.set(FAULTS);
    await startBots(bots, workDir, proxyUrl, await suite.market.getAddress(), node, modelId, MODE_OPTIMISTIC);
    await waitFor(
      "the bots to stake",
      async () => (await suite.vault.stakeOf(devAccount(4, node).address)).total > 0n,
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    const model = loadOptimisticModel(BUILD);
    const wrong = structuredClone(model.graph);
    const fc1 = wrong.nodes[0]!;
    if (fc1.op !== "dense") throw new Error("digits-mlp starts with a dense layer");
    fc1.bias[10] = fc1.bias[10]! + 10_000;
    const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };
    const fromBlock = await node.getBlockNumber();
    const user = devAccount(2, node);
    const ids: bigint[] = [];
    const expected = new Map<bigint, "finalized" | "rejected">();
    for (let r = 0; r < requests; r++) {
      const input = Uint8Array.from(testSet.inputs[r]!);
      const deadline = BigInt((await node.getBlock("latest"))!.timestamp + 7200);
      const cheat = r % 2 === 0;
      // The cheater claims its requests in the same block it creates them: the worker bot never sees them open.
      await (
        await suite.market
          .connect(user)
          .createRequest(inlineEthRequest(modelId, MODE_OPTIMISTIC, input, parseEther("0.01"), deadline), {
            value: parseEther("0.01"),
          })
      ).wait();
      const id = await suite.market.requestCount();
      ids.push(id);
      expected.set(id, cheat ? "rejected" : "finalized");
      if (!cheat) continue;
      await (await suite.market.connect(cheater).claim(id)).wait();
      const c = commitTrace(wrong, input);
      await (await suite.market.connect(cheater).submitResult(id, outputOf(c), encodeSubmissionProof(c))).wait();
    }
    const challenger = devAccount(4, node).address;
    const cheats = ids.filter((id) => expected.get(id) === "rejected");
    // SIGKILL the challenger once it opened its first game, restart it on its store.
    await waitFor(
      "a challenge",
      async () => {
        for (const id of cheats) if (Number((await optimistic.getGame(id, challenger)).phase) !== 0) return true;
        return false;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    await stopProcess(bots[1]!.child!, "SIGKILL");
    notes.push("challenger SIGKILLed after its first challenge");
    await startBots([bots[1]!], workDir, proxyUrl, await suite.market.getAddress(), node, modelId, MODE_OPTIMISTIC);
    await waitFor(
      "every cheat challenged",
      async () => {
        for (const id of cheats) if (Number((await optimistic.getGame(id, challenger)).phase) === 0) return false;
        return true;
      },
      { timeoutMs: 180_000, intervalMs: 250 },
    );
    // Every honest result submitted before the clock jumps (or the worker's claim window would close).
    await waitFor(
      "the honest results",
      async () => {
        for (const id of ids) if ((await suite.market.getRequest(id)).status < 3n) return false;
        return true;
      },
      { timeoutMs: 180_000, intervalMs: 250 },
    );
    // The cheater never answers: its clock runs out; the honest results' window passes.
    await node.send("evm_increaseTime", [3_700]);
    await node.send("evm_mine", []);
    await waitFor(
      "every request to settle",
      async () => {
        for (const id of ids) if ((await suite.market.getRequest(id)).status < 4n) return false;
        return true;
      },
      { timeoutMs: 240_000, intervalMs: 250 },
    ).catch((e: unknown) => notes.push(String(e)));
    proxy.set({});
    return await judge(
      fault,
      node,
      suite,
      ids,
      expected,
      bots.map((b) => devAccount(b.account, node).address),
      fromBlock,
      started,
      proxy,
      notes,
    );
  } finally {
    for (const b of bots) if (b.child) await stopProcess(b.child, "SIGTERM");
    await proxy.stop();
    node.destroy();
    await stopProcess(nodeProcess, "SIGKILL");
  }
}

/**
 * spML at p = 100 %: two operator bots (worker + sampler) serve and sample each other, three validator bots
 * arbitrate, all under faults and with a SIGKILL of a validator mid-dispute; a scripted cheater serves some
 * requests with a wrong output. Honest results are accepted, every cheat is caught (the sampler's output
 * delivered), and no bot loses stake.
 */
export async function runSamplingDrill(requests: number, workRoot: string): Promise<DrillResult> {
  const started = Date.now();
  const fault = "sampler + validator bots: malformed + resets + SIGKILL mid-dispute";
  const { child: nodeProcess, rpcUrl } = await startHardhatNode();
  const node = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
  const proxy = new FaultProxy(rpcUrl);
  const workDir = path.join(workRoot, "sampling");
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const bots: Bot[] = [
    { name: "operator-a", account: 3, roles: ["worker", "sampler"] },
    { name: "operator-b", account: 4, roles: ["worker", "sampler"] },
    { name: "validator-1", account: 6, roles: ["validator"] },
    { name: "validator-2", account: 7, roles: ["validator"] },
    { name: "validator-3", account: 8, roles: ["validator"] },
  ];
  const notes: string[] = [];
  try {
    const deployer = devAccount(0, node);
    const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: devAccount(1, node).address });
    const stack = await deploySamplingModule(suite, deployer, {
      committee: {
        committeeSize: 3,
        slashBps: 10_000,
        commitWindow: 600,
        revealWindow: 600,
        validatorStake: parseEther("0.5"),
      },
      arbitrationTimeout: 3 * 3600,
    });
    const price = parseEther("0.01");
    const { modelId } = await registerSamplingModel(suite.registry, deployer, {
      buildDir: BUILD,
      artifactURI: `file://${BUILD}`,
      ethPrice: price,
      operatorStake: parseEther("1"),
      config: {
        sampleBps: 10_000,
        verifierFeeBps: 10_000,
        samplerNoShowSlashBps: 2_000,
        maxDraws: 2,
        commitWindow: 600,
        revealWindow: 600,
        arbitrator: await stack.committee.getAddress(),
      },
    });
    const cheater = devAccount(5, node);
    await (await suite.vault.connect(cheater).stake(parseEther("20"), { value: parseEther("20") })).wait();
    await (await suite.vault.connect(cheater).setService(modelId, 0, true)).wait();
    const proxyUrl = await proxy.start();
    proxy.set(FAULTS);
    await startBots(bots, workDir, proxyUrl, await suite.market.getAddress(), node, modelId, MODE_SAMPLING);
    await waitFor("validators to serve", async () => (await suite.vault.serverCount(modelId, 1)) >= 3n, {
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    await waitFor("operators to serve", async () => (await suite.vault.serverCount(modelId, 0)) >= 3n, {
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    const graph = loadOptimisticModel(BUILD).graph;
    const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };
    const fromBlock = await node.getBlockNumber();
    const user = devAccount(2, node);
    const fee = price; // verifierFeeBps 10000
    const ids: bigint[] = [];
    const expected = new Map<bigint, "finalized" | "rejected">();
    const cheats: { id: bigint; output: string; salt: string }[] = [];
    for (let r = 0; r < requests; r++) {
      const input = Uint8Array.from(testSet.inputs[r]!);
      const deadline = BigInt((await node.getBlock("latest"))!.timestamp + 7200);
      await (
        await suite.market
          .connect(user)
          .createRequest(inlineEthRequest(modelId, MODE_SAMPLING, input, price + fee, deadline), { value: price + fee })
      ).wait();
      const id = await suite.market.requestCount();
      ids.push(id);
      // A caught cheat is still finalized: the sampler's correct output is delivered.
      expected.set(id, "finalized");
      if (r % 3 !== 0) continue;
      await (await suite.market.connect(cheater).claim(id)).wait();
      const t = runInt(graph, decodeInputBytes(graph, input)).tensors;
      const label = t[t.length - 1]![0]!;
      const output = encodeOutput([(label + 1) % 10]);
      const salt = keccak256(AbiCoder.defaultAbiCoder().encode(["string", "uint256"], ["drill cheat", id]));
      const commitment = samplingCommitment(id, cheater.address, { output, salt });
      await (
        await suite.market
          .connect(cheater)
          .submitResult(id, "0x", AbiCoder.defaultAbiCoder().encode(["bytes32"], [commitment]))
      ).wait();
      cheats.push({ id, output, salt });
    }
    // The cheater reveals once its sampler committed (it must, or it is slashed anyway).
    let killed = false;
    const end = Date.now() + 480_000;
    const pendingCheats = new Set(cheats.map((c) => c.id));
    // Windows are minutes of chain time: when nothing moves for a while (a party that will not act, such
    // as the killed validator, is being waited out), the chain's clock moves on by half a window.
    let lastState = "";
    let lastChange = Date.now();
    let clockMoves = 0;
    while (Date.now() < end) {
      const state = JSON.stringify(
        await Promise.all(
          ids.map(async (id) => [(await suite.market.getRequest(id)).status, (await stack.sampling.getJob(id)).phase]),
        ),
        (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
      );
      if (state !== lastState) {
        lastState = state;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > 45_000) {
        await node.send("evm_increaseTime", [300]);
        await node.send("evm_mine", []);
        clockMoves++;
        lastChange = Date.now();
      }
      for (const c of cheats) {
        if (!pendingCheats.has(c.id)) continue;
        const job = await stack.sampling.getJob(c.id);
        if (Number(job.phase) === 1 && (await stack.sampling.canAdvance(c.id))) {
          await (await stack.sampling.connect(cheater).advance(c.id)).wait().catch(() => undefined);
        }
        if (Number(job.phase) === 4 && !job.operatorRevealed) {
          await (await stack.sampling.connect(cheater).reveal(c.id, c.output, c.salt)).wait().catch(() => undefined);
          pendingCheats.delete(c.id);
        }
      }
      if (!killed && (await stack.committee.disputeCount()) > 0n) {
        const bot = bots[2]!;
        await stopProcess(bot.child!, "SIGKILL");
        await startBots([bot], workDir, proxyUrl, await suite.market.getAddress(), node, modelId, MODE_SAMPLING);
        notes.push("a validator SIGKILLed once the first dispute opened");
        killed = true;
      }
      let done = true;
      for (const id of ids) if ((await suite.market.getRequest(id)).status < 4n) done = false;
      if (done) break;
      await sleep(300);
    }
    notes.push(`${cheats.length} cheats`);
    if (clockMoves > 0) notes.push(`clock moved 300 s ${clockMoves} times while a window was waited out`);
    proxy.set({});
    return await judge(
      fault,
      node,
      suite,
      ids,
      expected,
      bots.map((b) => devAccount(b.account, node).address),
      fromBlock,
      started,
      proxy,
      notes,
    );
  } finally {
    for (const b of bots) if (b.child) await stopProcess(b.child, "SIGTERM");
    await proxy.stop();
    node.destroy();
    await stopProcess(nodeProcess, "SIGKILL");
  }
}
