import type { Signer } from "ethers";
import {
  InferenceMarket__factory,
  ModelRegistry__factory,
  StakingVault__factory,
  type InferenceMarket,
  type ModelRegistry,
  type StakingVault,
} from "../../types/ethers-contracts/index.js";

/** Market and vault parameters of a deployment. */
export interface SuiteParameters {
  treasury: string;
  protocolFeeBps: number;
  noShowSlashBps: number;
  claimWindowSeconds: number;
  maxCallbackGas: number;
  unbondingDelaySeconds: number;
  slashBeneficiaryShareBps: number;
  /** Staked asset: the zero address for ETH, else an ERC-20. */
  stakeAsset: string;
  /** Stake a pool membership bonds (StakingVault.minPoolStake), so sybil pool members cost capital. */
  minPoolStake: bigint;
}

export const DEFAULT_PARAMETERS: Omit<SuiteParameters, "treasury"> = {
  protocolFeeBps: 250,
  noShowSlashBps: 1_000,
  claimWindowSeconds: 600,
  maxCallbackGas: 500_000,
  unbondingDelaySeconds: 7 * 24 * 3600,
  slashBeneficiaryShareBps: 5_000,
  stakeAsset: "0x0000000000000000000000000000000000000000",
  minPoolStake: 10n ** 16n,
};

export interface Suite {
  registry: ModelRegistry;
  vault: StakingVault;
  market: InferenceMarket;
}

/** Deploys registry, vault and market owned by `deployer` and authorises the market in the vault. */
export async function deploySuite(deployer: Signer, params: SuiteParameters): Promise<Suite> {
  const owner = await deployer.getAddress();
  const registry = await new ModelRegistry__factory(deployer).deploy(owner);
  const vault = await new StakingVault__factory(deployer).deploy(
    owner,
    params.stakeAsset,
    params.treasury,
    params.unbondingDelaySeconds,
    params.slashBeneficiaryShareBps,
    params.minPoolStake,
  );
  await Promise.all([registry.waitForDeployment(), vault.waitForDeployment()]);
  const market = await new InferenceMarket__factory(deployer).deploy(
    owner,
    await registry.getAddress(),
    await vault.getAddress(),
    {
      treasury: params.treasury,
      protocolFeeBps: params.protocolFeeBps,
      noShowSlashBps: params.noShowSlashBps,
      claimWindow: params.claimWindowSeconds,
      maxCallbackGas: params.maxCallbackGas,
    },
  );
  await market.waitForDeployment();
  await (await vault.setAuthorised(await market.getAddress(), true)).wait();
  return { registry, vault, market };
}

/** What registering a model needs: its commitment, where its artifacts are, prices and mode settings. */
export interface ModelRegistration {
  modelHash: string;
  artifactURI: string;
  ethPrice: bigint;
  operatorStake: bigint;
  modes: { mode: number; config: string }[];
}

/** Registers a model owned by `owner`; returns the id the registry assigned. */
export async function registerModel(registry: ModelRegistry, owner: Signer, model: ModelRegistration): Promise<bigint> {
  const tx = await registry
    .connect(owner)
    .registerModel(model.modelHash, model.artifactURI, model.ethPrice, model.operatorStake, model.modes);
  const receipt = await tx.wait();
  for (const log of receipt?.logs ?? []) {
    const parsed = registry.interface.parseLog(log);
    if (parsed?.name === "ModelRegistered") return parsed.args.modelId as bigint;
  }
  throw new Error(`registerModel ${tx.hash} emitted no ModelRegistered`);
}
