import { AbiCoder, type Signer } from "ethers";
import { QualityModule__factory, type ModelRegistry, type QualityModule } from "../../types/ethers-contracts/index.js";
import { type Suite, registerModel } from "./deploy.js";
import { deployRandomness } from "./randomness.js";

export const MODE_QUALITY = 3;
/** Highest quality score (basis points). */
export const MAX_SCORE = 10_000;

const abi = AbiCoder.defaultAbiCoder();

/** Mirrors IQualityModule.QualityConfig. */
export interface QualityConfig {
  committeeSize: number;
  minReveals: number;
  threshold: number;
  outlierDistance: number;
  commitWindow: number;
  revealWindow: number;
  maxInlineBytes: number;
  operatorSlashBps: number;
  validatorStake: bigint;
  validatorReward: bigint;
  outlierSlash: bigint;
  noRevealSlash: bigint;
}

export const QUALITY_CONFIG_TYPE =
  "tuple(uint8 committeeSize, uint8 minReveals, uint16 threshold, uint16 outlierDistance, uint32 commitWindow, " +
  "uint32 revealWindow, uint32 maxInlineBytes, uint16 operatorSlashBps, uint256 validatorStake, " +
  "uint256 validatorReward, uint256 outlierSlash, uint256 noRevealSlash)";

export function encodeQualityConfig(config: QualityConfig): string {
  return abi.encode([QUALITY_CONFIG_TYPE], [config]);
}

export function decodeQualityConfig(bytes: string): QualityConfig {
  const [c] = abi.decode([QUALITY_CONFIG_TYPE], bytes) as unknown as [Record<string, bigint>];
  return {
    committeeSize: Number(c.committeeSize),
    minReveals: Number(c.minReveals),
    threshold: Number(c.threshold),
    outlierDistance: Number(c.outlierDistance),
    commitWindow: Number(c.commitWindow),
    revealWindow: Number(c.revealWindow),
    maxInlineBytes: Number(c.maxInlineBytes),
    operatorSlashBps: Number(c.operatorSlashBps),
    validatorStake: c.validatorStake!,
    validatorReward: c.validatorReward!,
    outlierSlash: c.outlierSlash!,
    noRevealSlash: c.noRevealSlash!,
  };
}

/** `proof` for a response given by reference (hash in `output`, text at the URI). */
export function encodeResponseURI(uri: string): string {
  return abi.encode(["string"], [uri]);
}

/**
 * Deploys the QualityModule (with a RANDAO randomness source unless one is given), points mode QUALITY
 * at it and authorises it in the vault to lock and slash validator stakes.
 */
export async function deployQualityModule(
  suite: Suite,
  deployer: Signer,
  randomness?: string,
): Promise<{ quality: QualityModule; randomness: string }> {
  const source = randomness ?? (await deployRandomness(deployer));
  const quality = await new QualityModule__factory(deployer).deploy(
    await suite.market.getAddress(),
    await suite.vault.getAddress(),
    source,
  );
  await quality.waitForDeployment();
  const address = await quality.getAddress();
  await (await suite.registry.connect(deployer).setModeModule(MODE_QUALITY, address)).wait();
  await (await suite.vault.connect(deployer).setAuthorised(address, true)).wait();
  return { quality, randomness: source };
}

export interface RegisterQualityModelOptions {
  modelHash: string;
  artifactURI: string;
  ethPrice: bigint;
  operatorStake: bigint;
  config: QualityConfig;
}

/** Registers a generative model in quality mode; returns its id. */
export async function registerQualityModel(
  registry: ModelRegistry,
  owner: Signer,
  options: RegisterQualityModelOptions,
): Promise<bigint> {
  return registerModel(registry, owner, {
    modelHash: options.modelHash,
    artifactURI: options.artifactURI,
    ethPrice: options.ethPrice,
    operatorStake: options.operatorStake,
    modes: [{ mode: MODE_QUALITY, config: encodeQualityConfig(options.config) }],
  });
}
