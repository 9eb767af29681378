import { readFile } from "node:fs/promises";
import path from "node:path";
import { ContractFactory, keccak256, type Signer } from "ethers";
import { ZkModule__factory, type ModelRegistry, type ZkModule } from "../../types/ethers-contracts/index.js";
import { type Suite, registerModel } from "./deploy.js";
import { encodeZkConfig } from "../../operator/src/terms.js";
import { LOCAL_CHAIN_IDS } from "../../operator/src/deployment.js";
import { loadVerifierArtifact } from "../../verifier-gen/src/pipeline.js";

export const MODE_ZK = 0;

/** The parts of a verifier-gen manifest the deploy scripts read. */
export interface BuildManifest {
  name: string;
  contractName: string;
  modelHash: string;
  naive: boolean;
  commitment: { leafCount: number; paramRoot: string; tensorSizes: number[] };
  ceremony: { development: boolean; phase1: string; phase2Contributions: number };
}

/** Chains where development Groth16 keys are acceptable: Hardhat's and the usual local dev chains. */

/** A build may not be registered where it is about to be used. */
export class BuildRefusedError extends Error {}

/**
 * Refuses a build whose Groth16 keys come from the local development ceremony on any chain but a local one
 * (whoever ran that ceremony can forge proofs for it), unless `force` is set; and refuses naive baselines
 * everywhere (their verifier does not report the model's commitment).
 */
export function checkBuildForChain(manifest: BuildManifest, chainId: bigint, force = false): void {
  if (manifest.naive)
    throw new BuildRefusedError(`${manifest.name} is a naive baseline build: it cannot be registered`);
  if (!manifest.ceremony.development || LOCAL_CHAIN_IDS.has(chainId) || force) return;
  throw new BuildRefusedError(
    `${manifest.name} was built with the local development ceremony (${manifest.ceremony.phase1}, ` +
      `${manifest.ceremony.phase2Contributions} phase-2 contribution): whoever built it can forge proofs. ` +
      `Rebuild it with a public powers-of-tau file and a multi-party phase 2 for chain ${chainId}, or force it (VERIML_FORCE_DEV_CEREMONY=1).`,
  );
}

export async function readManifest(buildDir: string): Promise<BuildManifest> {
  return JSON.parse(await readFile(path.join(buildDir, "manifest.json"), "utf8")) as BuildManifest;
}

/** Deploys the ZkModule for a suite and points mode ZK at it. */
export async function deployZkModule(suite: Suite, deployer: Signer): Promise<ZkModule> {
  const zk = await new ZkModule__factory(deployer).deploy(
    await suite.market.getAddress(),
    await suite.registry.getAddress(),
  );
  await zk.waitForDeployment();
  await (await suite.registry.connect(deployer).setModeModule(MODE_ZK, await zk.getAddress())).wait();
  return zk;
}

/** Deploys the verifier contract verifier-gen generated for a build, from the compiled artifacts. */
export async function deployVerifier(buildDir: string, deployer: Signer): Promise<string> {
  // The build's own compiled bytecode: its code hash is the one operators of the build accept.
  const artifact = loadVerifierArtifact(buildDir);
  const verifier = await new ContractFactory(artifact.abi as object[], artifact.bytecode, deployer).deploy();
  await verifier.waitForDeployment();
  return verifier.getAddress();
}

export interface RegisterZkModelOptions {
  buildDir: string;
  artifactURI: string;
  ethPrice: bigint;
  operatorStake: bigint;
  /** Register a development-ceremony build on a non-local chain anyway. */
  force?: boolean;
}

/** The zk config of a deployed verifier: its address and the code hash the ZkModule pins. */
export async function zkConfigFor(verifier: string, runner: Signer): Promise<string> {
  const code = await runner.provider!.getCode(verifier);
  return encodeZkConfig({ verifier, verifierCodeHash: keccak256(code) });
}

/** Deploys the build's verifier and registers the model in zk mode; returns the model id. */
export async function registerZkModel(
  registry: ModelRegistry,
  owner: Signer,
  options: RegisterZkModelOptions,
): Promise<{ modelId: bigint; verifier: string; modelHash: string }> {
  const manifest = await readManifest(options.buildDir);
  const { chainId } = await owner.provider!.getNetwork();
  checkBuildForChain(manifest, chainId, options.force);
  const verifier = await deployVerifier(options.buildDir, owner);
  const config = await zkConfigFor(verifier, owner);
  const modelId = await registerModel(registry, owner, {
    modelHash: manifest.modelHash,
    artifactURI: options.artifactURI,
    ethPrice: options.ethPrice,
    operatorStake: options.operatorStake,
    modes: [{ mode: MODE_ZK, config }],
  });
  return { modelId, verifier, modelHash: manifest.modelHash };
}
