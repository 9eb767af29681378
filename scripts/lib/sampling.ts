import type { Signer } from "ethers";
import {
  OneStepExecutor__factory,
  OptimisticArbitrator__factory,
  SamplingCommittee__factory,
  SamplingModule__factory,
  type ModelRegistry,
  type OptimisticArbitrator,
  type SamplingCommittee,
  type SamplingModule,
} from "../../types/ethers-contracts/index.js";
import {
  SAMPLING_CONFIG_TYPE,
  decodeSamplingConfig,
  encodeSamplingConfig,
  type SamplingConfig,
} from "../../operator/src/sampling/config.js";
import { loadOptimisticModel } from "../../operator/src/optimistic/model.js";
import { type Suite, registerModel } from "./deploy.js";
import { deployRandomness } from "./randomness.js";
import { readManifest } from "./zk.js";

export const MODE_SAMPLING = 2;

export { SAMPLING_CONFIG_TYPE, decodeSamplingConfig, encodeSamplingConfig };
export type { SamplingConfig };

/** Mirrors ISamplingCommittee.Parameters. */
export interface CommitteeParameters {
  committeeSize: number;
  slashBps: number;
  commitWindow: number;
  revealWindow: number;
  validatorStake: bigint;
}

export interface SamplingDeployOptions {
  committee: CommitteeParameters;
  /** Seconds after which a dispute without a ruling ends undecided (above the committee's windows). */
  arbitrationTimeout: number;
  /** An existing randomness source (for example a VrfRandomness); a RANDAO source is deployed otherwise. */
  randomness?: string;
  /** Blocks between a randomness request and its first mixed block. */
  randomnessDelay?: number;
  /**
   * Also deploy an OptimisticArbitrator (with its own OneStepExecutor) with these parameters (mirrors
   * IOptimisticArbitrator.Parameters), authorise the module as its client and allow it as arbitrator.
   */
  optimisticArbitrator?: { postWindow: number; clock: number; oneStepWindow: number };
}

export interface SamplingStack {
  sampling: SamplingModule;
  committee: SamplingCommittee;
  randomness: string;
  /** Present when deployed with `optimisticArbitrator`. */
  optimisticArbitrator?: OptimisticArbitrator;
}

/**
 * Deploys a RANDAO randomness source (unless one is given), the SamplingModule and its SamplingCommittee, wires them (the
 * committee accepts the module's disputes; governance allows the committee as arbitrator), points mode
 * SAMPLING at the module and authorises both in the vault to lock and slash.
 */
export async function deploySamplingModule(
  suite: Suite,
  deployer: Signer,
  options: SamplingDeployOptions,
): Promise<SamplingStack> {
  const randomness =
    options.randomness ??
    (await deployRandomness(deployer, options.randomnessDelay === undefined ? {} : { delay: options.randomnessDelay }));
  const owner = await deployer.getAddress();
  const vault = await suite.vault.getAddress();
  const sampling = await new SamplingModule__factory(deployer).deploy(
    owner,
    await suite.market.getAddress(),
    vault,
    randomness,
    options.arbitrationTimeout,
  );
  const market = await suite.market.getAddress();
  const committee = await new SamplingCommittee__factory(deployer).deploy(
    owner,
    vault,
    randomness,
    market,
    options.committee,
  );
  await Promise.all([sampling.waitForDeployment(), committee.waitForDeployment()]);
  const samplingAddress = await sampling.getAddress();
  const committeeAddress = await committee.getAddress();
  await (await committee.setClient(samplingAddress, true)).wait();
  await (await sampling.setArbitratorAllowed(committeeAddress, true)).wait();
  await (await suite.vault.connect(deployer).setAuthorised(samplingAddress, true)).wait();
  await (await suite.vault.connect(deployer).setAuthorised(committeeAddress, true)).wait();
  await (await suite.registry.connect(deployer).setModeModule(MODE_SAMPLING, samplingAddress)).wait();
  if (options.optimisticArbitrator === undefined) return { sampling, committee, randomness };
  const executor = await new OneStepExecutor__factory(deployer).deploy();
  await executor.waitForDeployment();
  const optimisticArbitrator = await new OptimisticArbitrator__factory(deployer).deploy(
    owner,
    await suite.registry.getAddress(),
    await executor.getAddress(),
    market,
    options.optimisticArbitrator,
  );
  await optimisticArbitrator.waitForDeployment();
  await (await optimisticArbitrator.setClient(samplingAddress, true)).wait();
  await (await sampling.setArbitratorAllowed(await optimisticArbitrator.getAddress(), true)).wait();
  return { sampling, committee, randomness, optimisticArbitrator };
}

export interface RegisterSamplingModelOptions {
  buildDir: string;
  artifactURI: string;
  ethPrice: bigint;
  operatorStake: bigint;
  config: SamplingConfig;
  /** Record the model's commitment preimage (from the build's intgraph.json) at this OptimisticArbitrator. */
  optimisticArbitrator?: OptimisticArbitrator;
}

/** Registers a verifier-gen build (its modelHash) in sampling mode; returns the model id. */
export async function registerSamplingModel(
  registry: ModelRegistry,
  owner: Signer,
  options: RegisterSamplingModelOptions,
): Promise<{ modelId: bigint; modelHash: string }> {
  const manifest = await readManifest(options.buildDir);
  if (options.optimisticArbitrator !== undefined) {
    // Before registering: the module refuses a config whose arbitrator cannot rule on the model.
    await recordModelCommitment(options.optimisticArbitrator.connect(owner), options.buildDir);
  }
  const modelId = await registerModel(registry, owner, {
    modelHash: manifest.modelHash,
    artifactURI: options.artifactURI,
    ethPrice: options.ethPrice,
    operatorStake: options.operatorStake,
    modes: [{ mode: MODE_SAMPLING, config: encodeSamplingConfig(options.config) }],
  });
  return { modelId, modelHash: manifest.modelHash };
}

/** Records a build's commitment preimage at an OptimisticArbitrator (anyone may; once per model hash). */
export async function recordModelCommitment(arbitrator: OptimisticArbitrator, buildDir: string): Promise<void> {
  const { tree } = loadOptimisticModel(buildDir);
  const { leafCount, paramRoot, tensorSizes, modelHash } = tree.commitment;
  if ((await arbitrator.modelShapeOf(modelHash)).tensorSizes.length > 0) return;
  await (await arbitrator.setModelCommitment(leafCount, paramRoot, tensorSizes)).wait();
}
