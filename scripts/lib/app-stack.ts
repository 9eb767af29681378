/**
 * The web app's local stack, as `npm run app` starts it and the browser test uses it: a `hardhat node` (one
 * block a second on top of automining, so randomness and committees move on by themselves), the suite
 * deployed with Hardhat Ignition, models registered through Ignition (the digits MLP in zk, optimistic and
 * sampling mode, a batch-4 build of it in zk whose operator proves the requests of a few seconds at once, iris
 * in zk, an arithmetic generator in quality mode), a demo ERC-20 the digits model is also
 * priced in, a benchmark attestation of the digits MLP's accuracy on 32 held-out digits recorded in the suite's
 * BenchmarkRegistry, the optimistic cheat of the demo staged and defended, operator and validator processes
 * serving it all, and the page's server. Accounts (Hardhat's): 0 deployer, 1 treasury, 2 the user, 3 and 4
 * operators, 5 the cheater, 6 and 7 validators.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { network } from "hardhat";
import { JsonRpcProvider, keccak256, parseEther } from "ethers";
import type { Logger } from "pino";
import Suite from "../../ignition/modules/Suite.js";
import { ResettingNonceManager } from "../../operator/src/chain/nonce.js";
import { deploymentDir, readSuiteDeployment, type SuiteAddresses } from "../../operator/src/deployment.js";
import {
  InferenceMarket__factory,
  BenchmarkRegistry__factory,
  MockERC20__factory,
  ModelRegistry__factory,
  OptimisticModule__factory,
  StakingVault__factory,
} from "../../types/ethers-contracts/index.js";
import { buildAttestation, loadTestSet, proveAttestation, samplesOf } from "../../verifier-gen/src/attestation.js";
import { loadModelDir, terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";
import { startAppServer, type AppServer } from "../../app/server/server.js";
import { devAccount } from "./accounts.js";
import { digitsMlpBatchBuild } from "./fixtures.js";
import { startHardhatNode } from "./hardhat-node.js";
import { startOperatorProcess, stopProcess } from "./operator-process.js";
import { stageCheat } from "./optimistic-cheat.js";
import { setAttestationVerifier, submitAttestation } from "./attestation.js";
import { RegistrationParameters, registerWithIgnition } from "./register.js";
import { inlineEthRequest } from "./requests.js";

export const ACCOUNTS = {
  deployer: 0,
  treasury: 1,
  user: 2,
  operatorA: 3,
  operatorB: 4,
  cheater: 5,
  validators: [6, 7],
};
export const DIGITS_BUILD = "models/build/digits-mlp";
export const IRIS_BUILD = "models/build/iris_mlp";
export const GENERATOR = "models/quality/gen-good";
export const CROSS_ENCODER = "models/quality/cross-encoder";
/** Held-out digits (data/digits-test.json, from the first) the digits MLP's accuracy is attested on. */
export const ATTESTED_SAMPLES = 32;
/** Slots of the digits MLP's batch build, and how long its operator gathers requests before it proves them. */
export const BATCH = { k: 4, windowMs: 5_000 } as const;
/** Price of the digits model in the demo token (DUSD, 18 decimals). */
export const TOKEN_PRICE = parseEther("20");

export interface AppStackOptions {
  /** Ignition deployment id of the suite (wiped first: it is of a throwaway node). */
  deploymentId: string;
  /** Where the operators' configs, stores and logs go (wiped first). */
  workDir: string;
  /** The page's port (0: any free one). */
  port?: number;
  /** Attest the digits MLP's accuracy in the BenchmarkRegistry (default true; the first run builds its circuit). */
  attest?: boolean;
  /** Stage the optimistic cheat of scripts/demo-optimistic.ts (default true). */
  cheat?: boolean;
  /** Sampling probability of the digits model in basis points (default 5000). */
  sampleBps?: number;
  log: Logger;
}

export interface AppStack {
  url: string;
  rpcUrl: string;
  deploymentId: string;
  suite: SuiteAddresses;
  provider: JsonRpcProvider;
  ids: { digits: bigint; digitsBatch: bigint; iris: bigint; quality: bigint };
  token: string;
  /** The cheat's request and when its dispute ended (moves), once it has. */
  cheat?: { requestId: bigint; challenger: string; done: Promise<number> };
  logs: string[];
  close(): Promise<void>;
}

export async function startAppStack(options: AppStackOptions): Promise<AppStack> {
  const { log } = options;
  const processes: ChildProcess[] = [];
  let app: AppServer | undefined;
  let stopped = false;
  const cleanup = async () => {
    stopped = true;
    await app?.close();
    for (const child of processes.reverse()) await stopProcess(child, "SIGTERM");
  };
  try {
    await rm(deploymentDir(options.deploymentId), { recursive: true, force: true });
    await rm(options.workDir, { recursive: true, force: true });
    await mkdir(options.workDir, { recursive: true });

    const node = await startHardhatNode();
    processes.push(node.child);
    const { rpcUrl } = node;
    const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1, staticNetwork: true });
    // Automining stays on (a transaction is mined at once); a block a second on top lets RANDAO windows and
    // committee deadlines pass with nobody sending anything, as on a real chain.
    await provider.send("evm_setIntervalMining", [1000]);

    const connection = await network.create({ network: "localhost", override: { url: rpcUrl } });
    const { deploymentId } = options;
    await connection.ignition.deploy(Suite, { deploymentId, displayUi: false });
    const suite = await readSuiteDeployment(deploymentDir(deploymentId));
    log.info({ deploymentId, market: suite.market }, "suite deployed with Ignition");

    const parameters = RegistrationParameters.parse({
      sampling: { sampleBps: options.sampleBps ?? 5_000 },
      quality: {
        committeeSize: 3,
        minReveals: 2,
        threshold: 5_000,
        outlierDistance: 2_500,
        commitWindow: 600,
        revealWindow: 600,
        maxInlineBytes: 256,
        operatorSlashBps: 5_000,
        validatorStake: "0.5",
        validatorReward: "0.001",
        outlierSlash: "0.1",
        noRevealSlash: "0.2",
      },
    });
    const register = (o: Parameters<typeof registerWithIgnition>[1]) => registerWithIgnition(connection, o);
    const digits = await register({
      buildDir: DIGITS_BUILD,
      modes: ["zk", "optimistic", "sampling"],
      parameters,
      deploymentId,
    });
    // The batch build commits to the same model: another registration of it, served in batches.
    const batchBuild = await digitsMlpBatchBuild(BATCH.k, log);
    const digitsBatch = await register({
      buildDir: batchBuild,
      modes: ["zk"],
      parameters,
      deploymentId,
      registrationId: `digits_mlp_b${BATCH.k}`,
    });
    const iris = await register({ buildDir: IRIS_BUILD, modes: ["zk"], parameters, deploymentId });
    // The generator has no verifier-gen build: its commitment is the hash of its ONNX file.
    const generatorHash = keccak256(await readFile(path.join(GENERATOR, "model.onnx")));
    const quality = await register({
      modelHash: generatorHash,
      artifactURI: `file://${path.resolve(GENERATOR)}`,
      modes: ["quality"],
      parameters,
      deploymentId,
      registrationId: "arith_generator",
    });
    const ids = {
      digits: digits.modelId,
      digitsBatch: digitsBatch.modelId,
      iris: iris.modelId,
      quality: quality.modelId,
    };
    log.info(
      Object.fromEntries(Object.entries(ids).map(([k, v]) => [k, v.toString()])),
      "models registered with Ignition",
    );

    const signer = (i: number) => new ResettingNonceManager(devAccount(i, provider));
    const deployer = signer(ACCOUNTS.deployer);
    const market = InferenceMarket__factory.connect(suite.market, deployer);
    const vault = StakingVault__factory.connect(suite.vault, deployer);

    // A demo ERC-20 (a mock: local chains only) the digits model is also priced in; the user holds some.
    const dusd = await new MockERC20__factory(deployer).deploy("Demo USD", "DUSD");
    await dusd.waitForDeployment();
    const token = await dusd.getAddress();
    await (await market.setTokenAllowed(token, true)).wait();
    const registry = ModelRegistry__factory.connect(suite.registry, deployer);
    await (await registry.setPrice(ids.digits, token, TOKEN_PRICE)).wait();
    await (await dusd.mint(devAccount(ACCOUNTS.user, provider).address, parseEther("1000"))).wait();

    // Validators of the quality model: staked and in its validator pool.
    for (const i of [ACCOUNTS.operatorB, ...ACCOUNTS.validators]) {
      const v = vault.connect(signer(i));
      await (await v.stake(parseEther("3"), { value: parseEther("3") })).wait();
      await (await v.setService(ids.quality, 1, true)).wait();
    }

    const digitsModel = loadModelDir(DIGITS_BUILD);
    if (options.attest ?? true) {
      // The model's owner (the deployer registered it) names the attestation verifier and records the proof.
      log.info({ samples: ATTESTED_SAMPLES }, "attesting the digits MLP's accuracy (the first run builds the circuit)");
      const ab = await buildAttestation(digitsModel, { samples: ATTESTED_SAMPLES });
      const samples = samplesOf(digitsModel, loadTestSet("data/digits-test.json", ATTESTED_SAMPLES));
      const owner = devAccount(ACCOUNTS.deployer, provider);
      const attestation = await proveAttestation(digitsModel, ab, samples, owner.address);
      await terminateSnarkjs();
      const benchmark = BenchmarkRegistry__factory.connect(suite.benchmark, deployer);
      await setAttestationVerifier(benchmark, ids.digits, ab.dir, deployer);
      const { attestationId } = await submitAttestation(benchmark, ids.digits, attestation, deployer);
      log.info(
        { attestationId: attestationId.toString(), correct: attestation.correct, samples: ATTESTED_SAMPLES },
        "digits accuracy attested",
      );
    }

    let cheat: AppStack["cheat"];
    if (options.cheat ?? true) {
      // The demo's cheat, before any honest operator runs: the cheater claims a digit and lies about it.
      const cheater = signer(ACCOUNTS.cheater);
      const cv = vault.connect(cheater);
      await (await cv.stake(parseEther("5"), { value: parseEther("5") })).wait();
      await (await cv.setService(ids.digits, 0, true)).wait();
      const test = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };
      const input = Uint8Array.from(test.inputs[2]!);
      const user = signer(ACCOUNTS.user);
      const block = await provider.getBlock("latest");
      const [price, fee] = await market.quote(ids.digits, 1, "0x0000000000000000000000000000000000000000");
      const params = inlineEthRequest(ids.digits, 1, input, price + fee, BigInt(block!.timestamp + 7200));
      await (await market.connect(user).createRequest(params, { value: price + fee })).wait();
      const requestId = await market.requestCount();
      const optimistic = OptimisticModule__factory.connect(suite.optimistic, provider);
      const staged = await stageCheat(market, optimistic, cheater, digitsModel.graph, requestId, input);
      // It never serves again: it must not be drawn as anyone's sampler.
      await (await cv.setService(ids.digits, 0, false)).wait();
      const challenger = devAccount(ACCOUNTS.operatorA, provider).address;
      const done = staged.defend(challenger, { stopped: () => stopped, timeoutMs: 600_000 });
      done.catch((error: unknown) => log.error({ err: error }, "the staged cheat's defence failed"));
      cheat = { requestId, challenger, done };
      log.info({ requestId: requestId.toString(), claimed: staged.claimed }, "optimistic cheat staged");
    }

    const absolute = (dir: string) => path.resolve(dir);
    const logs: string[] = [];
    const operator = async (
      name: string,
      account: number,
      roles: ("worker" | "challenger" | "sampler" | "validator")[],
      models: { modelId: bigint; modes: number[]; batchWindowMs?: number; quality?: Record<string, unknown> }[],
    ) => {
      const { child, logFile } = await startOperatorProcess({
        workDir: path.join(options.workDir, name),
        rpcUrl,
        privateKey: devAccount(account, provider).privateKey,
        // No market and no artifacts: Ignition's record, and the registered artifact URIs.
        models,
        stakeWei: parseEther("10"),
        roles,
        pollIntervalMs: 250,
        extra: {
          deployment: deploymentDir(deploymentId),
          artifactCacheDir: path.join(options.workDir, name, "cache"),
          provers: 1,
          logLevel: "warn",
        },
      });
      processes.push(child);
      logs.push(logFile);
    };
    const crossEncoder = { crossEncoder: absolute(CROSS_ENCODER) };
    await operator(
      "operator-a",
      ACCOUNTS.operatorA,
      ["worker", "sampler", "challenger"],
      [
        { modelId: ids.digits, modes: [0, 1, 2] },
        { modelId: ids.iris, modes: [0] },
        { modelId: ids.digitsBatch, modes: [0], batchWindowMs: BATCH.windowMs },
        { modelId: ids.quality, modes: [3], quality: { generator: { backend: "onnx", folder: absolute(GENERATOR) } } },
      ],
    );
    await operator(
      "operator-b",
      ACCOUNTS.operatorB,
      ["worker", "sampler", "validator"],
      [
        { modelId: ids.digits, modes: [0, 1, 2] },
        { modelId: ids.quality, modes: [3], quality: crossEncoder },
      ],
    );
    for (const [k, i] of ACCOUNTS.validators.entries()) {
      await operator(
        `validator-${k + 1}`,
        i,
        ["validator"],
        [{ modelId: ids.quality, modes: [3], quality: crossEncoder }],
      );
    }
    // Serving: both operators in the digits pool (the sampler is drawn from it), A in iris and quality.
    const until = Date.now() + 180_000;
    const a = devAccount(ACCOUNTS.operatorA, provider).address;
    const b = devAccount(ACCOUNTS.operatorB, provider).address;
    for (const [who, modelId] of [
      [a, ids.digits],
      [b, ids.digits],
      [a, ids.iris],
      [a, ids.digitsBatch],
      [a, ids.quality],
    ] as const) {
      while (!(await vault.isServing(who, modelId, 0))) {
        if (Date.now() > until) throw new Error(`operators did not start; see ${logs.join(", ")}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await connection.close();

    app = await startAppServer({ rpcUrl, deploymentId, port: options.port ?? 5173, log });
    return {
      url: app.url,
      rpcUrl,
      deploymentId,
      suite,
      provider,
      ids,
      token,
      ...(cheat === undefined ? {} : { cheat }),
      logs,
      close: async () => {
        await cleanup();
        provider.destroy();
        await rm(deploymentDir(deploymentId), { recursive: true, force: true });
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
