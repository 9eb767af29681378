// The challenger role over real JSON-RPC (a `hardhat node` process): it re-executes optimistic results,
// leaves an honest one alone, challenges a cheating operator, survives a restart mid-game from its
// SQLite store, wins the one-step and finalizes the rejection (operator slashed, requester refunded).
import { encodeOutput } from "../../verifier-gen/src/encoding.js";
import { waitFor as waitUntil } from "../../scripts/lib/wait.js";
import { inlineEthRequest } from "../../scripts/lib/requests.js";
import { ResettingNonceManager } from "../../operator/src/chain/nonce.js";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import { pino } from "pino";
import { parseEther, type JsonRpcProvider } from "ethers";
import type { Suite } from "../../scripts/lib/deploy.js";
import { devAccount } from "../../scripts/lib/accounts.js";
import { stopProcess } from "../../scripts/lib/operator-process.js";
import { MODE_OPTIMISTIC } from "../../scripts/lib/optimistic.js";
import {
  OPTIMISTIC_PRICE as PRICE,
  OPTIMISTIC_STAKE as STAKE,
  startOptimisticNode,
} from "../helpers/optimistic-node.js";
import { operatorConfig } from "../../operator/src/config.js";
import { createExecutor } from "../../operator/src/executors/index.js";
import { OperatorRuntime } from "../../operator/src/runtime.js";
import { loadOptimisticModel } from "../../operator/src/optimistic/model.js";
import { commitTrace, encodeSubmissionProof } from "../../operator/src/optimistic/trace.js";
import { Outcome, Phase, operatorReveal } from "../../operator/src/optimistic/game.js";
import type { IntGraph } from "../../verifier-gen/src/intgraph.js";
import type { OptimisticModule } from "../../types/ethers-contracts/index.js";

const BUILD = "models/build/digits-mlp";
const MODEL = loadOptimisticModel(BUILD);
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] };
const sample = (i: number): Uint8Array => Uint8Array.from(testSet.inputs[i]!);

const waitFor = (what: string, check: () => Promise<boolean>): Promise<void> =>
  waitUntil(what, check, { timeoutMs: 60_000, intervalMs: 100 });

describe("challenger role over JSON-RPC", function () {
  this.timeout(180_000);
  let node: ChildProcess;
  let rpcUrl: string;
  let provider: JsonRpcProvider;
  let suite: Suite;
  let optimistic: OptimisticModule;
  let modelId: bigint;
  let workDir: string;
  const bot = () => devAccount(4, provider);
  const cheater = () => new ResettingNonceManager(devAccount(3, provider));

  const startBot = async (): Promise<OperatorRuntime> => {
    const config = operatorConfig({
      rpcUrl,
      privateKey: bot().privateKey,
      market: await suite.market.getAddress(),
      roles: ["challenger"],
      models: [{ modelId: modelId.toString(), artifacts: BUILD, modes: [MODE_OPTIMISTIC] }],
      storePath: path.join(workDir, "bot.sqlite"),
      stakeWei: parseEther("3").toString(),
      pollIntervalMs: 100,
    });
    const log = pino({ level: "silent" });
    const runtime = new OperatorRuntime(config, (m, mode) => createExecutor(m, mode, log), log);
    await runtime.start();
    return runtime;
  };

  before(async () => {
    ({ node, rpcUrl, provider, suite, optimistic, modelId } = await startOptimisticNode(
      BUILD,
      "file://models/build/digits-mlp",
    ));
    workDir = await mkdtemp(path.join(tmpdir(), "veriml-challenger-"));
  });

  after(async () => {
    provider?.destroy();
    if (node) await stopProcess(node);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  async function submitted(
    input: Uint8Array,
    graph: IntGraph,
  ): Promise<{ id: bigint; c: ReturnType<typeof commitTrace> }> {
    const user = devAccount(2, provider);
    const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 7200);
    const params = inlineEthRequest(modelId, MODE_OPTIMISTIC, input, PRICE, deadline);
    await (await suite.market.connect(user).createRequest(params, { value: PRICE })).wait();
    const id = await suite.market.requestCount();
    const op = cheater();
    await (await suite.market.connect(op).claim(id)).wait();
    const c = commitTrace(graph, input);
    await (
      await suite.market.connect(op).submitResult(id, encodeOutput([c.trace.output[0]!]), encodeSubmissionProof(c))
    ).wait();
    return { id, c };
  }

  it("verifies an honest result, catches a cheater after a restart mid-game, and finalizes the rejection", async () => {
    const honest = await submitted(sample(0), MODEL.graph);
    const g = structuredClone(MODEL.graph);
    const fc1 = g.nodes[0]!;
    if (fc1.op !== "dense") throw new Error("fc1 is dense");
    fc1.bias[10] = fc1.bias[10]! + 10_000;
    const input = sample(2);
    const cheat = await submitted(input, g);
    expect(cheat.c.trace.output[0]).to.not.equal(commitTrace(MODEL.graph, input).trace.output[0]);

    let runtime = await startBot();
    const botAddr = bot().address;
    const game = () => optimistic.getGame(cheat.id, botAddr);
    await waitFor("the bot to challenge", async () => Number((await game()).phase) !== Phase.None);
    expect(await optimistic.challengersOf(honest.id)).to.deep.equal([]);

    // the cheater defends with its own (consistent but wrong) trace; the bot is stopped mid-game
    const op = cheater();
    const operatorMove = async () => {
      const s = await game();
      const state = {
        phase: Number(s.phase),
        operatorToMove: s.operatorToMove,
        level: Number(s.level),
        tensor: Number(s.tensor),
        position: Number(s.position),
      };
      await (await optimistic.connect(op).reveal(cheat.id, botAddr, operatorReveal(cheat.c, state))).wait();
    };
    await operatorMove();
    await waitFor("the bot to pick a tensor", async () => Number((await game()).phase) === Phase.Tensor);
    await runtime.stop();
    await operatorMove(); // phase 2, round 1, while the bot is down
    runtime = await startBot();
    await waitFor("the bot to pick again", async () => (await game()).operatorToMove);
    await operatorMove(); // phase 2, round 2
    await waitFor("the game to end", async () => Number((await game()).phase) === Phase.Resolved);
    const end = await game();
    expect(end.outcome).to.equal(BigInt(Outcome.ChallengerWon));
    expect(end.reason).to.equal(1n); // the one-step decided it
    expect(end.tensor).to.equal(1n);
    await waitFor("the bot to finalize", async () => (await suite.market.getRequest(cheat.id)).status === 4n);
    await runtime.stop();
    const rejected = await suite.market.queryFilter(suite.market.filters.RequestRejected(cheat.id));
    expect(rejected).to.have.length(1);
    expect(rejected[0]!.args.slashed).to.equal(STAKE);
    expect(await suite.vault.slashProceedsOf(botAddr)).to.be.greaterThan(0n);
    expect((await suite.vault.stakeOf(botAddr)).locked).to.equal(0n);
  });
});
