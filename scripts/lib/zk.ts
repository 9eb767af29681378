import { readFile } from "node:fs/promises";
import path from "node:path";
import { AbiCoder, ContractFactory, type Signer } from "ethers";
import { ZkModule__factory, type ModelRegistry, type ZkModule } from "../../types/ethers-contracts/index.js";
import { type Suite, registerModel } from "./deploy.js";

export const MODE_ZK = 0;
const abi = AbiCoder.defaultAbiCoder();

/** The parts of a verifier-gen manifest the deploy scripts read. */
export interface BuildManifest {
  name: string;
  contractName: string;
  modelHash: string;
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
  const { contractName } = await readManifest(buildDir);
  const artifactPath = path.resolve("artifacts/contracts/verifiers", `${contractName}.sol`, `${contractName}.json`);
  const artifact = JSON.parse(await readFile(artifactPath, "utf8")) as { abi: object[]; bytecode: string };
  const verifier = await new ContractFactory(artifact.abi, artifact.bytecode, deployer).deploy();
  await verifier.waitForDeployment();
  return verifier.getAddress();
}

export interface RegisterZkModelOptions {
  buildDir: string;
  artifactURI: string;
  ethPrice: bigint;
  operatorStake: bigint;
}

/** Deploys the build's verifier and registers the model in zk mode; returns the model id. */
export async function registerZkModel(
  registry: ModelRegistry,
  owner: Signer,
  options: RegisterZkModelOptions,
): Promise<{ modelId: bigint; verifier: string; modelHash: string }> {
  const manifest = await readManifest(options.buildDir);
  const verifier = await deployVerifier(options.buildDir, owner);
  const config = abi.encode(["tuple(address verifier)"], [{ verifier }]);
  const modelId = await registerModel(registry, owner, {
    modelHash: manifest.modelHash,
    artifactURI: options.artifactURI,
    ethPrice: options.ethPrice,
    operatorStake: options.operatorStake,
    modes: [{ mode: MODE_ZK, config }],
  });
  return { modelId, verifier, modelHash: manifest.modelHash };
}
