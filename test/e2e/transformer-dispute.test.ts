// A dispute over one attention element of the two-block ViT (digits_vit2, exported by PyTorch), over real
// JSON-RPC: a cheating operator submits a trace that is right everywhere except one value of the first
// attention product q k^T (the later tensors are computed from the wrong value, so the trace is consistent);
// the challenger bot finds it, bisects down to that element, and the chain's one-step recomputes it from the
// committed q and k rows: the challenger wins, the operator is slashed, the requester refunded.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import { pino } from "pino";
import { parseEther, type JsonRpcProvider } from "ethers";
import { waitFor as waitUntil } from "../../scripts/lib/wait.js";
import { inlineEthRequest } from "../../scripts/lib/requests.js";
import { ResettingNonceManager } from "../../operator/src/chain/nonce.js";
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
import { encodeSubmissionProof, outputOf } from "../../operator/src/optimistic/trace.js";
import { Outcome, Phase, operatorReveal } from "../../operator/src/optimistic/game.js";
import { encodeInputBytes } from "../../verifier-gen/src/encoding.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { quantizeInput } from "../../verifier-gen/src/quantize.js";
import { commitTensors } from "../../verifier-gen/src/onestep.js";
import type { OptimisticModule } from "../../types/ethers-contracts/index.js";
import { fixtureBuild } from "../../scripts/lib/fixtures.js";
import { terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";

const evalSet = JSON.parse(readFileSync("models/pytorch/digits_vit2.json", "utf8")) as { inputs: number[][] };

const waitFor = (what: string, check: () => Promise<boolean>): Promise<void> =>
  waitUntil(what, check, { timeoutMs: 120_000, intervalMs: 100 });

describe("e2e: a dispute over one attention element of a PyTorch ViT, won by the one-step", function () {
  this.timeout(300_000);
  let node: ChildProcess;
  let provider: JsonRpcProvider;
  let suite: Suite;
  let optimistic: OptimisticModule;
  let modelId: bigint;
  let workDir: string;
  let build: string;
  let MODEL: ReturnType<typeof loadOptimisticModel>;
  const bot = () => devAccount(4, provider);
  const cheater = () => new ResettingNonceManager(devAccount(3, provider));

  before(async () => {
    // Built on first use (its proving key is too large to commit); optimistic mode needs only its commitment.
    build = await fixtureBuild("digits_vit2");
    MODEL = loadOptimisticModel(build);
    let rpcUrl: string;
    ({ node, rpcUrl, provider, suite, optimistic, modelId } = await startOptimisticNode(build, `file://${build}`));
    workDir = await mkdtemp(path.join(tmpdir(), "veriml-vit-dispute-"));
    const config = operatorConfig({
      rpcUrl,
      privateKey: bot().privateKey,
      market: await suite.market.getAddress(),
      roles: ["challenger"],
      models: [{ modelId: modelId.toString(), artifacts: build, modes: [MODE_OPTIMISTIC] }],
      storePath: path.join(workDir, "bot.sqlite"),
      stakeWei: parseEther("3").toString(),
      pollIntervalMs: 100,
    });
    const log = pino({ level: "silent" });
    runtime = new OperatorRuntime(config, (m, mode) => createExecutor(m, mode, log), log);
  });
  let runtime: OperatorRuntime;

  after(async () => {
    await terminateSnarkjs();
    await runtime?.stop();
    provider?.destroy();
    if (node) await stopProcess(node);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("the challenger bisects to the forged q k^T element and wins the one-step", async () => {
    const g = MODEL.graph;
    const q = quantizeInput(g, evalSet.inputs[3]!);
    const input = encodeInputBytes(g, q);
    const honest = runInt(g, q);
    // The first product of two activations is the attention scores q k^T of block 0.
    const scores = g.nodes.findIndex((n) => n.op === "matmul") + 1;
    expect(scores).to.be.greaterThan(0);
    const element = 5;
    const forged = Float64Array.from(honest.tensors[scores]!);
    forged[element] = forged[element]! + 40;
    const cheat = commitTensors(runInt(g, q, new Map([[scores, forged]])).tensors);

    const user = devAccount(2, provider);
    const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 7200);
    const params = inlineEthRequest(modelId, MODE_OPTIMISTIC, input, PRICE, deadline);
    await (await suite.market.connect(user).createRequest(params, { value: PRICE })).wait();
    const id = await suite.market.requestCount();
    const op = cheater();
    await (await suite.market.connect(op).claim(id)).wait();
    await (await suite.market.connect(op).submitResult(id, outputOf(cheat), encodeSubmissionProof(cheat))).wait();

    await runtime.start();
    const botAddr = bot().address;
    const game = () => optimistic.getGame(id, botAddr);
    await waitFor("the bot to challenge", async () => Number((await game()).phase) !== Phase.None);
    // The cheater defends its consistent trace move by move.
    for (;;) {
      const s = await game();
      const phase = Number(s.phase);
      if (phase === Phase.Resolved) break;
      if (s.operatorToMove && phase !== Phase.OneStep) {
        const state = {
          phase,
          operatorToMove: true,
          level: Number(s.level),
          tensor: Number(s.tensor),
          position: Number(s.position),
        };
        await (await optimistic.connect(op).reveal(id, botAddr, operatorReveal(cheat, state))).wait();
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    const end = await game();
    expect(end.outcome).to.equal(BigInt(Outcome.ChallengerWon));
    expect(end.reason).to.equal(1n); // decided by the one-step
    expect(end.tensor).to.equal(BigInt(scores));
    expect(end.position).to.equal(BigInt(element));
    await waitFor("the bot to finalize", async () => (await suite.market.getRequest(id)).status === 4n);
    const rejected = await suite.market.queryFilter(suite.market.filters.RequestRejected(id));
    expect(rejected).to.have.length(1);
    expect(rejected[0]!.args.slashed).to.equal(STAKE);
  });
});
