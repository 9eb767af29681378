// The OptimisticArbitrator played by the bots alone: a cheating assigned operator (worker role, whose
// executor ran a "cheaper model") is sampled by an honest sampler (sampler role); the dispute goes to the
// OptimisticArbitrator and the two ArbitrationDuty instances (A in the worker role, B in the sampler role)
// post their traces, dissect (B restarted mid-game), and B runs the one-step. B wins, A is slashed, the requester gets B's label.
import { encodeOutput } from "../../verifier-gen/src/encoding.js";
import { inlineEthRequest } from "../../scripts/lib/requests.js";
import { ResettingNonceManager } from "../../operator/src/chain/nonce.js";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { ZeroAddress, keccak256, parseEther } from "ethers";
import { pino } from "pino";
import { runInt, type IntGraph } from "../../verifier-gen/src/intgraph.js";
import { devAccount } from "../../scripts/lib/accounts.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../scripts/lib/deploy.js";
import { MODE_SAMPLING, deploySamplingModule, registerSamplingModel } from "../../scripts/lib/sampling.js";
import { operatorConfig } from "../../operator/src/config.js";
import { SamplingExecutor } from "../../operator/src/executors/sampling.js";
import { Metrics } from "../../operator/src/metrics.js";
import { commitTrace } from "../../operator/src/optimistic/trace.js";
import { createRoles } from "../../operator/src/roles/index.js";
import type { Role } from "../../operator/src/roles/role.js";
import { executorKey } from "../../operator/src/roles/worker.js";
import { OperatorStore } from "../../operator/src/store.js";
import { settledOutput } from "../../operator/src/chain/results.js";

const { ethers, networkHelpers } = await network.create();
const MLP = "models/build/digits-mlp";
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const SAMPLE = 2;
const graph = JSON.parse(readFileSync(`${MLP}/intgraph.json`, "utf8")) as IntGraph;
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] };
const input = Uint8Array.from(testSet.inputs[SAMPLE]!);
const silent = pino({ level: process.env.BOT_LOG ?? "silent" });

/** The "cheaper model" A runs: fc1 bias 10 moved so far that the label flips (its trace is consistent). */
const cheap = structuredClone(graph);
{
  const n = cheap.nodes[0]!;
  if (n.op !== "dense") throw new Error("fc1 is not dense");
  n.bias[10] = n.bias[10]! + 10_000;
}
const labelOf = (g: IntGraph): bigint => BigInt(runInt(g, Array.from(input)).output[0]!);

interface Bot {
  address: string;
  roles: Role[];
  store: OperatorStore;
  executor: SamplingExecutor;
}

describe("OptimisticArbitrator bots (worker + sampler arbitration duties)", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "veriml-arbitration-bot-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function deployFixture() {
    const [deployer, treasury, user] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const stack = await deploySamplingModule(suite, deployer!, {
      committee: { committeeSize: 3, slashBps: 10_000, commitWindow: 600, revealWindow: 600, validatorStake: STAKE },
      arbitrationTimeout: 3 * 3600,
      optimisticArbitrator: { postWindow: 600, clock: 600, oneStepWindow: 600 },
    });
    const arbitrator = stack.optimisticArbitrator!;
    const { modelId } = await registerSamplingModel(suite.registry, deployer!, {
      buildDir: MLP,
      artifactURI: `file://${MLP}`,
      ethPrice: PRICE,
      operatorStake: STAKE,
      config: {
        sampleBps: 10_000,
        verifierFeeBps: 10_000,
        samplerNoShowSlashBps: 2_000,
        maxDraws: 2,
        commitWindow: 600,
        revealWindow: 600,
        arbitrator: await arbitrator.getAddress(),
      },
      optimisticArbitrator: arbitrator,
    });
    for (const i of [3, 4]) {
      const signer = (await ethers.getSigners())[i]!;
      await suite.vault.connect(signer).stake(parseEther("3"), { value: parseEther("3") });
      await suite.vault.connect(signer).setService(modelId, 0, true);
    }
    return { ...suite, ...stack, arbitrator, modelId, user: user! };
  }
  type Fixture = Awaited<ReturnType<typeof deployFixture>>;

  async function startBot(f: Fixture, index: number, roleNames: ("worker" | "sampler")[]): Promise<Bot> {
    const wallet = devAccount(index, ethers.provider);
    const file = path.join(dir, `bot-${index}.sqlite`);
    const config = operatorConfig({
      rpcUrl: "http://127.0.0.1:8545",
      privateKey: wallet.privateKey,
      market: await f.market.getAddress(),
      roles: roleNames,
      models: [{ modelId: f.modelId.toString(), artifacts: MLP, modes: [MODE_SAMPLING] }],
      storePath: file,
    });
    const store = new OperatorStore(file);
    const executor = await SamplingExecutor.create(MLP, wallet.privateKey, silent);
    const signer = new ResettingNonceManager(wallet);
    const roles = createRoles({
      config,
      provider: ethers.provider,
      signer,
      address: wallet.address,
      market: f.market.connect(signer),
      vault: f.vault.connect(signer),
      registry: f.registry.connect(signer),
      store,
      executors: new Map([[executorKey(f.modelId, MODE_SAMPLING), executor]]),
      metrics: new Metrics(),
      retry: { attempts: 2, baseDelayMs: 10 },
      log: silent,
    });
    return { address: wallet.address, roles, store, executor };
  }

  it("a cheating A against an honest B: the bots play the game to the one-step, B wins, A slashed", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    expect(labelOf(cheap)).to.not.equal(labelOf(graph));
    let cursor = await ethers.provider.getBlockNumber();
    const a = await startBot(f, 3, ["worker"]);
    // The cheat: A's executor runs the cheaper model, for its label and for the trace it defends.
    a.executor.infer = async () => encodeOutput([labelOf(cheap)]);
    a.executor.trace = (bytes) => commitTrace(cheap, Array.from(bytes));
    let b = await startBot(f, 4, ["sampler"]);
    let restarted = false;

    const deadline = BigInt((await networkHelpers.time.latest()) + 7200);
    await (
      await f.market
        .connect(f.user)
        .createRequest(inlineEthRequest(f.modelId, MODE_SAMPLING, input, PRICE * 2n, deadline), { value: PRICE * 2n })
    ).wait();
    const id = await f.market.requestCount();

    let rounds = 0;
    while ((await f.market.getRequest(id)).status !== 4n) {
      if (++rounds > 60) throw new Error("the bots did not settle the request");
      const head = await ethers.provider.getBlockNumber();
      for (const bot of [a, b]) {
        for (const role of bot.roles) {
          await role.scan(cursor, head);
          await role.work();
        }
      }
      cursor = head + 1;
      await networkHelpers.mine(1);
      // Restart B mid-game (tensor phase): it resumes from its store, the chain and a recomputed trace.
      const stage = (await f.arbitrator.disputeCount()) === 0n ? 0n : (await f.arbitrator.getDispute(1n)).stage;
      if (!restarted && stage === 3n) {
        b.store.close();
        b = await startBot(f, 4, ["sampler"]);
        restarted = true;
      }
    }
    expect(restarted).to.equal(true);

    expect(await f.arbitrator.disputeCount()).to.equal(1n);
    const d = await f.arbitrator.getDispute(1n);
    expect(d.stage).to.equal(5n); // Resolved
    expect(d.reason).to.equal(4n); // OneStep
    expect(d.tensor).to.equal(1n); // fc1's output, where the cheaper model first differs
    expect(d.position).to.equal(10n);
    expect(d.parties).to.deep.equal([a.address, b.address]);
    const truth = encodeOutput([labelOf(graph)]);
    const ruling = await f.arbitrator.ruling(1n);
    expect(ruling.outputHash).to.equal(keccak256(truth));
    expect(ruling.rewarded).to.deep.equal([b.address]);
    expect((await f.sampling.getJob(id)).verdict).to.equal(2n); // AcceptedSampler
    expect(await settledOutput(f.market, id)).to.equal(truth);
    expect((await f.vault.stakeOf(a.address)).total).to.equal(parseEther("3") - STAKE);
    const protocolFee = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;
    expect(await f.market.owed(b.address, ZeroAddress)).to.equal(PRICE - protocolFee + PRICE);
    const done = b.store.database.prepare("SELECT done FROM arbitration_disputes").all() as { done: number }[];
    expect(done).to.deep.equal([{ done: 1 }]);
    for (const bot of [a, b]) bot.store.close();
  });
});
