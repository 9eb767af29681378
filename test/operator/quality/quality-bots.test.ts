// PoQ bots against the in-process chain: the worker serves a quality model through a real ONNX generator,
// validator bots score the response with the real cross-encoder, commit, reveal, resolve and finalize. The
// good generator is paid; an operator quietly serving the cheap generator is refused and slashed; a validator
// restarted after committing still reveals.
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { ResettingNonceManager } from "../../../operator/src/chain/nonce.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { ZeroAddress, ZeroHash, parseEther, toUtf8Bytes, hexlify } from "ethers";
import { pino } from "pino";
import { devAccount } from "../../../scripts/lib/accounts.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import { MODE_QUALITY, deployQualityModule, registerQualityModel } from "../../../scripts/lib/quality.js";
import { operatorConfig } from "../../../operator/src/config.js";
import { QualityExecutor } from "../../../operator/src/executors/quality.js";
import { Metrics } from "../../../operator/src/metrics.js";
import { isCorrect, prompt } from "../../../operator/src/quality/arith.js";
import { OnnxGenerator } from "../../../operator/src/quality/generators.js";
import { createRoles } from "../../../operator/src/roles/index.js";
import type { Role } from "../../../operator/src/roles/role.js";
import { executorKey } from "../../../operator/src/roles/worker.js";
import { OperatorStore } from "../../../operator/src/store.js";
import { settledOutput } from "../../../operator/src/chain/results.js";

const { ethers, networkHelpers } = await network.create();
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const CONFIG = {
  committeeSize: 3,
  minReveals: 2,
  threshold: 5_000,
  outlierDistance: 2_500,
  commitWindow: 600,
  revealWindow: 600,
  maxInlineBytes: 256,
  operatorSlashBps: 5_000,
  validatorStake: parseEther("0.5"),
  validatorReward: parseEther("0.001"),
  outlierSlash: parseEther("0.1"),
  noRevealSlash: parseEther("0.2"),
};
const FEE = 3n * CONFIG.validatorReward;
const CROSS_ENCODER = "models/quality/cross-encoder";
const silent = pino({ level: process.env.DEBUG_BOTS ? "debug" : "silent" });

interface Bot {
  address: string;
  roles: Role[];
  store: OperatorStore;
  storePath: string;
}

describe("PoQ bots (worker, validator)", function () {
  this.timeout(180_000);
  let dir: string;
  let good: OnnxGenerator;
  let cheap: OnnxGenerator;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "veriml-quality-bots-"));
    good = await OnnxGenerator.load("models/quality/gen-good", silent);
    cheap = await OnnxGenerator.load("models/quality/gen-cheap", silent);
  });
  after(async () => {
    await good.close();
    await cheap.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function deployFixture() {
    const [deployer, treasury, user] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const { quality } = await deployQualityModule(suite, deployer!);
    const modelId = await registerQualityModel(suite.registry, deployer!, {
      modelHash: ethers.id("veriml/quality/gen-good"),
      artifactURI: "file://models/quality/gen-good",
      ethPrice: PRICE,
      operatorStake: STAKE,
      config: CONFIG,
    });
    for (const i of [3, 4, 5, 6]) {
      const signer = (await ethers.getSigners())[i]!;
      await suite.vault.connect(signer).stake(parseEther("3"), { value: parseEther("3") });
    }
    await suite.vault.connect((await ethers.getSigners())[3]!).setService(modelId, 0, true);
    return { ...suite, quality, modelId, user: user! };
  }
  type Fixture = Awaited<ReturnType<typeof deployFixture>>;

  async function startBot(
    f: Fixture,
    index: number,
    roleNames: ("worker" | "validator")[],
    generator?: OnnxGenerator,
    storePath?: string,
  ): Promise<Bot> {
    const wallet = devAccount(index, ethers.provider);
    const file = storePath ?? path.join(dir, `bot-${index}-${Date.now()}.sqlite`);
    const config = operatorConfig({
      rpcUrl: "http://127.0.0.1:8545",
      privateKey: wallet.privateKey,
      market: await f.market.getAddress(),
      roles: roleNames,
      models: [
        {
          modelId: f.modelId.toString(),
          modes: [MODE_QUALITY],
          quality: { crossEncoder: CROSS_ENCODER },
        },
      ],
      storePath: file,
    });
    const store = new OperatorStore(file);
    const signer = new ResettingNonceManager(wallet);
    const executor = new QualityExecutor(generator, { maxInlineBytes: 256 }, silent);
    const roles = createRoles({
      config,
      provider: ethers.provider,
      signer,
      address: wallet.address,
      market: f.market.connect(signer),
      vault: f.vault.connect(signer),
      registry: f.registry.connect(signer),
      store,
      executors: new Map([[executorKey(f.modelId, MODE_QUALITY), executor]]),
      metrics: new Metrics(),
      retry: { attempts: 2, baseDelayMs: 10 },
      log: silent,
    });
    return { address: wallet.address, roles, store, storePath: file };
  }

  async function runUntil(bots: Bot[], done: () => Promise<boolean>, cursor: { block: number }, maxRounds = 40) {
    for (let round = 0; round < maxRounds; round++) {
      if (await done()) return;
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

  async function request(f: Fixture, text: string): Promise<bigint> {
    const deadline = BigInt((await networkHelpers.time.latest()) + 7200);
    await (
      await f.market
        .connect(f.user)
        .createRequest(inlineEthRequest(f.modelId, MODE_QUALITY, toUtf8Bytes(text), PRICE + FEE, deadline), {
          value: PRICE + FEE,
        })
    ).wait();
    return f.market.requestCount();
  }

  const settled = (f: Fixture, id: bigint) => async () => (await f.market.getRequest(id)).status >= 4n;
  const protocolFee = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;

  it("pays the good generator's answer; a validator restarted after committing still reveals", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const cursor = { block: await ethers.provider.getBlockNumber() };
    const worker = await startBot(f, 3, ["worker"], good);
    const validators = [
      await startBot(f, 4, ["validator"]),
      await startBot(f, 5, ["validator"]),
      await startBot(f, 6, ["validator"]),
    ];
    const text = prompt({ a: 17, b: 15 });
    // Validators join the pool before the request: a committee is drawn from the pool as it stood then.
    await runUntil([worker, ...validators], async () => (await f.vault.serverCount(f.modelId, 1)) >= 3n, cursor);
    const id = await request(f, text);
    await runUntil([worker, ...validators], async () => (await f.quality.getJob(id)).commits >= 1n, cursor);
    // Restart the validators that committed, from their stores.
    const members = await f.quality.getMembers(id);
    for (let i = 0; i < validators.length; i++) {
      const m = members.find((x) => x.validator === validators[i]!.address);
      if (m !== undefined && m.commitment !== ZeroHash) {
        validators[i]!.store.close();
        validators[i] = await startBot(f, 4 + i, ["validator"], undefined, validators[i]!.storePath);
      }
    }
    await runUntil([worker, ...validators], settled(f, id), cursor);

    const response = hexlify(toUtf8Bytes("32"));
    expect(await settledOutput(f.market, id)).to.equal(response);
    const job = await f.quality.getJob(id);
    expect(job.accepted).to.equal(true);
    expect(job.reveals).to.equal(3n);
    expect(job.median).to.be.at.least(BigInt(CONFIG.threshold));
    expect(await f.market.owed(worker.address, ZeroAddress)).to.equal(PRICE - protocolFee);
    for (const v of validators) {
      expect(await f.market.owed(v.address, ZeroAddress)).to.equal(CONFIG.validatorReward);
      expect((await f.vault.stakeOf(v.address)).locked).to.equal(0n);
    }
    expect((await f.quality.getMembers(id)).map((m) => m.validator)).to.not.include(worker.address);
    for (const bot of [worker, ...validators]) bot.store.close();
  });

  it("refuses and slashes an operator quietly serving the cheap generator", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    const cursor = { block: await ethers.provider.getBlockNumber() };
    // The cheat: the model registered is the good generator; the operator serves the cheap one.
    const worker = await startBot(f, 3, ["worker"], cheap);
    const validators = [
      await startBot(f, 4, ["validator"]),
      await startBot(f, 5, ["validator"]),
      await startBot(f, 6, ["validator"]),
    ];
    const text = prompt({ a: 3, b: 18 });
    expect(isCorrect(text, await cheap.generate(text))).to.equal(false);
    // Validators join the pool before the request: a committee is drawn from the pool as it stood then.
    await runUntil([worker, ...validators], async () => (await f.vault.serverCount(f.modelId, 1)) >= 3n, cursor);
    const id = await request(f, text);
    await runUntil([worker, ...validators], settled(f, id), cursor);

    const job = await f.quality.getJob(id);
    expect(job.accepted).to.equal(false);
    expect(job.quorum).to.equal(true);
    expect(job.median).to.be.below(BigInt(CONFIG.threshold));
    const slash = (STAKE * BigInt(CONFIG.operatorSlashBps)) / 10_000n;
    expect((await f.market.getRequest(id)).status).to.equal(4n);
    expect(await f.market.owed(worker.address, ZeroAddress)).to.equal(0n);
    expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE);
    expect((await f.vault.stakeOf(worker.address)).total).to.equal(parseEther("3") - slash);
    for (const bot of [worker, ...validators]) bot.store.close();
  });
});
