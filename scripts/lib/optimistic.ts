import type { Signer } from "ethers";
import {
  OneStepExecutor__factory,
  OptimisticModule__factory,
  type ModelRegistry,
  type OptimisticModule,
} from "../../types/ethers-contracts/index.js";
import { loadOptimisticModel } from "../../operator/src/optimistic/model.js";
import { encodeOptimisticConfig } from "../../operator/src/terms.js";
import { type Suite, registerModel } from "./deploy.js";

export const MODE_OPTIMISTIC = 1;

/** Smallest challenger bond governance allows by default (a losing challenger pays the operator's gas). */
export const DEFAULT_MIN_CHALLENGER_BOND = 10n ** 16n;

/** Deploys the one-step executor and the OptimisticModule, authorises it in the vault, points mode 1 at it. */
export async function deployOptimisticModule(
  suite: Suite,
  deployer: Signer,
  minChallengerBond: bigint = DEFAULT_MIN_CHALLENGER_BOND,
): Promise<OptimisticModule> {
  const executor = await new OneStepExecutor__factory(deployer).deploy();
  await executor.waitForDeployment();
  const module = await new OptimisticModule__factory(deployer).deploy(
    await deployer.getAddress(),
    await suite.market.getAddress(),
    await suite.registry.getAddress(),
    await suite.vault.getAddress(),
    await executor.getAddress(),
    minChallengerBond,
  );
  await module.waitForDeployment();
  const address = await module.getAddress();
  await (await suite.vault.connect(deployer).setAuthorised(address, true)).wait();
  await (await suite.registry.connect(deployer).setModeModule(MODE_OPTIMISTIC, address)).wait();
  return module;
}

export interface OptimisticModelOptions {
  buildDir: string;
  artifactURI: string;
  ethPrice: bigint;
  operatorStake: bigint;
  challengeWindow: number;
  clock: number;
  challengerBond: bigint;
}

export { encodeOptimisticConfig };

/** Registers a verifier-gen build in optimistic mode (its commitment preimage read from its integer graph). */
export async function registerOptimisticModel(
  registry: ModelRegistry,
  owner: Signer,
  options: OptimisticModelOptions,
): Promise<{ modelId: bigint; modelHash: string }> {
  const model = loadOptimisticModel(options.buildDir);
  const { leafCount, paramRoot, tensorSizes } = model.tree.commitment;
  const config = encodeOptimisticConfig({ ...options, leafCount, paramRoot, tensorSizes });
  const modelId = await registerModel(registry, owner, {
    modelHash: model.modelHash,
    artifactURI: options.artifactURI,
    ethPrice: options.ethPrice,
    operatorStake: options.operatorStake,
    modes: [{ mode: MODE_OPTIMISTIC, config }],
  });
  return { modelId, modelHash: model.modelHash };
}
