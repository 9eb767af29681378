/**
 * A PoQ deployment on Hardhat's in-process chain with operator bots (worker, validator) running their real
 * role code in this process: used by the quality demo and bench.
 */
import { inlineEthRequest } from "../lib/requests.js";
import { ResettingNonceManager } from "../../operator/src/chain/nonce.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEther, toUtf8Bytes, type Provider } from "ethers";
import type { Logger } from "pino";
import { operatorConfig } from "../../operator/src/config.js";
import { QualityExecutor } from "../../operator/src/executors/quality.js";
import { Metrics } from "../../operator/src/metrics.js";
import type { Generator } from "../../operator/src/quality/generators.js";
import { createRoles } from "../../operator/src/roles/index.js";
import type { Role } from "../../operator/src/roles/role.js";
import { executorKey } from "../../operator/src/roles/worker.js";
import { OperatorStore } from "../../operator/src/store.js";
import type {
  InferenceMarket,
  ModelRegistry,
  QualityModule,
  StakingVault,
} from "../../types/ethers-contracts/index.js";
import { devAccount } from "../lib/accounts.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../lib/deploy.js";
import { MODE_QUALITY, deployQualityModule, registerQualityModel, type QualityConfig } from "../lib/quality.js";

export const PRICE = parseEther("0.01");
export const OPERATOR_STAKE = parseEther("1");
export const QUALITY_CONFIG: QualityConfig = {
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
export const FEE = BigInt(QUALITY_CONFIG.committeeSize) * QUALITY_CONFIG.validatorReward;

export interface Chain {
  provider: Provider;
  mine: (blocks: number) => Promise<void>;
  signers: import("ethers").Signer[];
}

export interface Stack {
  market: InferenceMarket;
  vault: StakingVault;
  registry: ModelRegistry;
  /** The RandaoRandomness source the quality module draws committees with. */
  randomness: string;
  quality: QualityModule;
  modelId: bigint;
}

export interface Bot {
  index: number;
  address: string;
  roles: Role[];
  store: OperatorStore;
}

export async function deployQualityStack(chain: Chain, operators: number[], validators: number[]): Promise<Stack> {
  const [deployer, treasury] = chain.signers as [import("ethers").Signer, import("ethers").Signer];
  const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: await treasury.getAddress() });
  const { quality, randomness } = await deployQualityModule(suite, deployer);
  const modelId = await registerQualityModel(suite.registry, deployer, {
    modelHash: "0x" + "11".repeat(32),
    artifactURI: "file://models/quality/gen-good",
    ethPrice: PRICE,
    operatorStake: OPERATOR_STAKE,
    config: QUALITY_CONFIG,
  });
  for (const i of [...operators, ...validators]) {
    const signer = chain.signers[i]!;
    await (await suite.vault.connect(signer).stake(parseEther("3"), { value: parseEther("3") })).wait();
  }
  for (const i of operators) await (await suite.vault.connect(chain.signers[i]!).setService(modelId, 0, true)).wait();
  for (const i of validators) await (await suite.vault.connect(chain.signers[i]!).setService(modelId, 1, true)).wait();
  return { ...suite, quality, randomness, modelId };
}

export class BotHarness {
  private cursor = 0;
  private dir: string | undefined;

  constructor(
    private readonly chain: Chain,
    private readonly stack: Stack,
    private readonly log: Logger,
  ) {}

  async start(
    index: number,
    roles: ("worker" | "validator")[],
    generator?: Generator,
    crossEncoder?: string,
  ): Promise<Bot> {
    this.dir ??= await mkdtemp(path.join(tmpdir(), "veriml-quality-"));
    const wallet = devAccount(index, this.chain.provider);
    const file = path.join(this.dir, `bot-${index}.sqlite`);
    const config = operatorConfig({
      rpcUrl: "http://127.0.0.1:8545",
      privateKey: wallet.privateKey,
      market: await this.stack.market.getAddress(),
      roles,
      models: [
        {
          modelId: this.stack.modelId.toString(),
          modes: [MODE_QUALITY],
          quality: crossEncoder === undefined ? {} : { crossEncoder },
        },
      ],
      storePath: file,
    });
    const store = new OperatorStore(file);
    const signer = new ResettingNonceManager(wallet);
    const { market, vault, registry } = this.stack;
    const botLog = this.log.child({ bot: index });
    const roleList = createRoles({
      config,
      provider: this.chain.provider,
      signer,
      address: wallet.address,
      market: market.connect(signer),
      vault: vault.connect(signer),
      registry: registry.connect(signer),
      store,
      executors: new Map([
        [
          executorKey(this.stack.modelId, MODE_QUALITY),
          new QualityExecutor(generator, { maxInlineBytes: 256 }, botLog),
        ],
      ]),
      metrics: new Metrics(),
      retry: { attempts: 2, baseDelayMs: 10 },
      log: botLog,
    });
    return { index, address: wallet.address, roles: roleList, store };
  }

  /** Every bot scans new blocks and works, one block is mined; until `done` or `maxRounds`. */
  async runUntil(bots: Bot[], done: () => Promise<boolean>, maxRounds = 60): Promise<number> {
    for (let round = 0; round < maxRounds; round++) {
      if (await done()) return round;
      const head = await this.chain.provider.getBlockNumber();
      for (const bot of bots) {
        for (const role of bot.roles) {
          await role.scan(this.cursor, head);
          await role.work();
        }
      }
      this.cursor = head + 1;
      await this.chain.mine(1);
    }
    throw new Error("bots did not settle the request");
  }

  async close(bots: Bot[]): Promise<void> {
    for (const b of bots) b.store.close();
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
  }
}

/** A user's quality request for `text`; returns the request id. */
export async function requestQuality(
  stack: Stack,
  user: import("ethers").Signer,
  text: string,
  now: number,
): Promise<bigint> {
  await (
    await stack.market
      .connect(user)
      .createRequest(
        inlineEthRequest(stack.modelId, MODE_QUALITY, toUtf8Bytes(text), PRICE + FEE, BigInt(now + 7200)),
        { value: PRICE + FEE },
      )
  ).wait();
  return stack.market.requestCount();
}
