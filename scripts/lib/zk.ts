import { readFile } from "node:fs/promises";
import path from "node:path";
import { ContractFactory, keccak256, type Signer } from "ethers";
import { ZkModule__factory, type ModelRegistry, type ZkModule } from "../../types/ethers-contracts/index.js";
import { type Suite, registerModel } from "./deploy.js";
import { encodeZkConfig } from "../../operator/src/terms.js";
import { LOCAL_CHAIN_IDS } from "../../operator/src/deployment.js";
import { loadVerifierArtifact, type CeremonyManifest } from "../../verifier-gen/src/pipeline.js";
import { MIN_CONTRIBUTIONS } from "../../verifier-gen/src/ceremony.js";
import { PUBLIC_PHASE1_FILES, type KnownPhase1 } from "../../verifier-gen/src/phase1.js";

export const MODE_ZK = 0;

/** The parts of a verifier-gen manifest the deploy scripts read. */
export interface BuildManifest {
  name: string;
  contractName: string;
  modelHash: string;
  naive: boolean;
  commitment: { leafCount: number; paramRoot: string; tensorSizes: number[] };
  ceremony: CeremonyManifest;
}

/** A build may not be registered where it is about to be used. */
export class BuildRefusedError extends Error {}

/**
 * On any chain but a local one, accepts only a build whose key came out of `verifier-gen ceremony`: a published
 * phase-1 file (`knownPhase1`, default the Hermez files) and at least MIN_CONTRIBUTIONS phase-2 contributions and
 * a beacon. A development key (drawn by one process, or a phase 2 the builder contributed to alone) lets whoever
 * made it forge proofs; `force` registers it anyway (testnet trials). Naive baselines are refused everywhere
 * (their verifier does not report the model's commitment). This reads the registrant's own manifest: it keeps an
 * owner from registering a development key by mistake; consumers check the ceremony itself with
 * `verifier-gen ceremony verify` (docs/CEREMONY.md).
 */
export function checkBuildForChain(
  manifest: BuildManifest,
  chainId: bigint,
  force = false,
  knownPhase1: readonly KnownPhase1[] = PUBLIC_PHASE1_FILES,
): void {
  if (manifest.naive)
    throw new BuildRefusedError(`${manifest.name} is a naive baseline build: it cannot be registered`);
  if (LOCAL_CHAIN_IDS.has(chainId) || force) return;
  const { development, mpc, phase1, phase2Contributions } = manifest.ceremony;
  if (development || mpc === undefined) {
    throw new BuildRefusedError(
      `${manifest.name} was built with a development ceremony (${phase1}, ` +
        `${phase2Contributions} phase-2 contribution): whoever built it can forge proofs. ` +
        `Run a ceremony on it (verifier-gen ceremony, docs/CEREMONY.md) for chain ${chainId}, or force it (VERIML_FORCE_DEV_CEREMONY=1).`,
    );
  }
  if (!knownPhase1.some((k) => k.blake2b === mpc.phase1File.blake2b)) {
    throw new BuildRefusedError(`${manifest.name}: its phase-1 file ${mpc.phase1File.name} is not a published one`);
  }
  if (mpc.contributions.length < MIN_CONTRIBUTIONS || mpc.beacon === undefined) {
    throw new BuildRefusedError(
      `${manifest.name}: ${mpc.contributions.length} phase-2 contribution(s) and ${mpc.beacon ? "a" : "no"} beacon; ` +
        `a ceremony needs ${MIN_CONTRIBUTIONS} and a beacon`,
    );
  }
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
