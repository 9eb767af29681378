// spML bots against the in-process chain: the assigned operator (worker role), samplers (sampler role) and
// validators (validator role) run their real role code with real ONNX inference of the digits MLP; a
// cheating worker is caught by them, and a sampler restarted mid-protocol still opens its commitment.
import { encodeOutput } from "../../verifier-gen/src/encoding.js";
import { inlineEthRequest } from "../../scripts/lib/requests.js";
import { ResettingNonceManager } from "../../operator/src/chain/nonce.js";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { AbiCoder, ZeroAddress, parseEther } from "ethers";
import { pino } from "pino";
import { runInt, type IntGraph } from "../../verifier-gen/src/intgraph.js";
import { quantizeInput } from "../../verifier-gen/src/quantize.js";
import { devAccount } from "../../scripts/lib/accounts.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../scripts/lib/deploy.js";
import { MODE_SAMPLING, deploySamplingModule, registerSamplingModel } from "../../scripts/lib/sampling.js";
import { operatorConfig } from "../../operator/src/config.js";
import { SamplingExecutor } from "../../operator/src/executors/sampling.js";
import { Metrics } from "../../operator/src/metrics.js";
import { createRoles } from "../../operator/src/roles/index.js";
import type { Role } from "../../operator/src/roles/role.js";
import { executorKey } from "../../operator/src/roles/worker.js";
import { OperatorStore } from "../../operator/src/store.js";
import { settledOutput } from "../../operator/src/chain/results.js";

const { ethers, networkHelpers } = await network.create();
const abi = AbiCoder.defaultAbiCoder();
const MLP = "models/build/digits-mlp";
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const graph = JSON.parse(readFileSync(`${MLP}/intgraph.json`, "utf8")) as IntGraph;
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] };
const label = (i: number): bigint => BigInt(runInt(graph, quantizeInput(graph, testSet.inputs[i]!)).output[0]!);
const silent = pino({ level: "silent" });

interface Bot {
  address: string;
  roles: Role[];
  store: OperatorStore;
  storePath: string;
  executor: SamplingExecutor;
  roleNames: ("worker" | "sampler" | "validator")[];
  key: string;
}

describe("spML bots (worker, sampler, validator)", function () {
  this.timeout(180_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "veriml-sampling-bots-"));
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
    });
    const { modelId } = await registerSamplingModel(suite.registry, deployer!, {
      buildDir: MLP,
      artifactURI: `file://${MLP}`,
      ethPrice: PRICE,
      operatorStake: STAKE,
      config: {
        sampleBps: 10_000, // every request is re-executed: the bots' full path runs each time
        verifierFeeBps: 10_000,
        samplerNoShowSlashBps: 2_000,
        maxDraws: 2,
        commitWindow: 600,
        revealWindow: 600,
        arbitrator: await stack.committee.getAddress(),
      },
    });
    // Operators (A and the two samplers) and validators stake as the runtime would.
    for (const i of [3, 4, 5, 6, 7, 8]) {
      const signer = (await ethers.getSigners())[i]!;
      await suite.vault.connect(signer).stake(parseEther("3"), { value: parseEther("3") });
      if (i <= 5) await suite.vault.connect(signer).setService(modelId, 0, true);
    }
    return { ...suite, ...stack, modelId, user: user! };
  }
  type Fixture = Awaited<ReturnType<typeof deployFixture>>;

  async function startBot(f: Fixture, index: number, roleNames: Bot["roleNames"], storePath?: string): Promise<Bot> {
    const wallet = devAccount(index, ethers.provider);
    const file = storePath ?? path.join(dir, `bot-${index}-${Date.now()}.sqlite`);
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
    return { address: wallet.address, roles, store, storePath: file, executor, roleNames, key: wallet.privateKey };
  }

  /** Every bot scans the new blocks and works, as the runtime loop does; then one block is mined. */
  async function runUntil(bots: Bot[], done: () => Promise<boolean>, cursor: { block: number }, maxRounds = 60) {
    for (let round = 0; round < maxRounds; round++) {
      if (await done()) return round;
      const head = await ethers.provider.getBlockNumber();
      for (const bot of bots) {
        for (const role of bot.roles) {
          await role.scan(cursor.block, head);
          await role.work();
        }
      }
      cursor.block = head + 1;
      await networkHelpers.mine(1);
    }
    throw new Error("bots did not settle the request");
  }

  async function request(f: Fixture, sample: number): Promise<bigint> {
    const deadline = BigInt((await networkHelpers.time.latest()) + 7200);
    const tx = await f.market
      .connect(f.user)
      .createRequest(
        inlineEthRequest(f.modelId, MODE_SAMPLING, Uint8Array.from(testSet.inputs[sample]!), PRICE * 2n, deadline),
        { value: PRICE * 2n },
      );
    await tx.wait();
    return f.market.requestCount();
  }

  const finalized = (f: Fixture, id: bigint) => async () => (await f.market.getRequest(id)).status === 4n;

  it("settle a sampled request: A commits and reveals, B re-executes and matches (B restarted mid-way)", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const cursor = { block: await ethers.provider.getBlockNumber() };
    const a = await startBot(f, 3, ["worker"]);
    const samplers = [await startBot(f, 4, ["sampler"]), await startBot(f, 5, ["sampler"])];
    const id = await request(f, 20);
    // Run until the drawn sampler has committed, then restart it from its store.
    await runUntil([a, ...samplers], async () => (await f.sampling.getJob(id)).phase >= 4n, cursor);
    const drawn = (await f.sampling.getJob(id)).sampler;
    const i = samplers.findIndex((s) => s.address === drawn);
    expect(i).to.be.at.least(0);
    samplers[i]!.store.close();
    samplers[i] = await startBot(f, i === 0 ? 4 : 5, ["sampler"], samplers[i]!.storePath);
    await runUntil([a, ...samplers], finalized(f, id), cursor);

    const output = encodeOutput([label(20)]);
    expect(await settledOutput(f.market, id)).to.equal(output);
    expect(await f.sampling.revealedOutput(id, true)).to.equal(output);
    const protocolFee = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;
    expect(await f.market.owed(a.address, ZeroAddress)).to.equal(PRICE - protocolFee);
    expect(await f.market.owed(drawn, ZeroAddress)).to.equal(PRICE);
    for (const bot of [a, ...samplers]) bot.store.close();
  });

  it("catch a cheating worker: the sampler disagrees, validator bots vote, the cheat is slashed", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const cursor = { block: await ethers.provider.getBlockNumber() };
    const a = await startBot(f, 3, ["worker"]);
    // The cheat: A commits to (and reveals) a label it did not compute.
    const honestInfer = a.executor.infer.bind(a.executor);
    a.executor.infer = async (job) => {
      const real = abi.decode(["uint256"], await honestInfer(job))[0] as bigint;
      return encodeOutput([(real + 1n) % 10n]);
    };
    const samplers = [await startBot(f, 4, ["sampler"]), await startBot(f, 5, ["sampler"])];
    const validators = [
      await startBot(f, 6, ["validator"]),
      await startBot(f, 7, ["validator"]),
      await startBot(f, 8, ["validator"]),
    ];
    const id = await request(f, 21);
    await runUntil([a, ...samplers, ...validators], finalized(f, id), cursor);

    const truth = encodeOutput([label(21)]);
    const job = await f.sampling.getJob(id);
    expect(job.verdict).to.equal(2n); // AcceptedSampler
    expect(await settledOutput(f.market, id)).to.equal(truth);
    expect((await f.vault.stakeOf(a.address)).total).to.equal(parseEther("3") - STAKE);
    const members = await f.committee.membersOf(1n);
    expect(members).to.have.length(3);
    for (const m of members) expect(await f.market.owed(m, ZeroAddress)).to.equal(PRICE / 3n);
    expect((await f.committee.ruling(1n)).outputHash).to.equal(ethers.keccak256(truth));
    for (const bot of [a, ...samplers, ...validators]) bot.store.close();
  });
});
