/**
 * Deploys the Groth16 verifier of a verifier-gen build and registers the model in zk mode on the
 * network chosen with --network, using the addresses in deployments/<chainId>.json.
 *
 *   VERIML_BUILD=models/build/digits-mlp VERIML_PRICE_ETH=0.001 VERIML_STAKE_ETH=0.01 \
 *   VERIML_ARTIFACT_URI=ipfs://<cid> npx hardhat run --network sepolia scripts/register-model.ts
 *
 * Defaults: the digits MLP build, 0.001 ETH per request, 0.01 ETH locked per claim, a file:// URI.
 * Builds made with the local development ceremony are refused on every chain but the local ones (their
 * single phase-2 contributor could forge proofs); VERIML_FORCE_DEV_CEREMONY=1 overrides that, for testnet
 * trials only.
 */
import { network } from "hardhat";
import { parseEther } from "ethers";
import { ModelRegistry__factory } from "../types/ethers-contracts/index.js";
import { readDeployment, writeDeployment } from "./lib/deployments.js";
import { readManifest, registerZkModel } from "./lib/zk.js";

const buildDir = process.env.VERIML_BUILD ?? "models/build/digits-mlp";
const connection = await network.create();
const { ethers } = connection;
const [owner] = await ethers.getSigners();
if (!owner) throw new Error("no account configured for this network");
const { chainId } = await ethers.provider.getNetwork();
const deployment = await readDeployment(chainId);
const registryAddress = deployment.contracts.ModelRegistry;
if (!registryAddress) throw new Error(`deployments/${chainId}.json has no ModelRegistry`);
const registry = ModelRegistry__factory.connect(registryAddress, owner);
const manifest = await readManifest(buildDir);
const artifactURI = process.env.VERIML_ARTIFACT_URI ?? `file://${buildDir}`;

const { modelId, verifier, modelHash } = await registerZkModel(registry, owner, {
  buildDir,
  artifactURI,
  ethPrice: parseEther(process.env.VERIML_PRICE_ETH ?? "0.001"),
  operatorStake: parseEther(process.env.VERIML_STAKE_ETH ?? "0.01"),
  force: process.env.VERIML_FORCE_DEV_CEREMONY === "1",
});
deployment.models[manifest.name] = { modelId: modelId.toString(), modelHash, verifier, artifactURI, modes: ["zk"] };
const file = await writeDeployment(chainId, deployment);
process.stdout.write(
  `model ${manifest.name}: id ${modelId}, verifier ${verifier}, modelHash ${modelHash}; recorded in ${file}\n`,
);
