/**
 * Deploys the marketplace (registry, vault, market) and the verification modules available to the
 * network chosen with --network, and records the addresses in deployments/<chainId>.json.
 *
 *   npx hardhat run scripts/deploy.ts                      # in-process chain (addresses are throwaway)
 *   npx hardhat run --network localhost scripts/deploy.ts  # a running `npx hardhat node`
 *   npx hardhat run --network sepolia scripts/deploy.ts    # SEPOLIA_RPC_URL, SEPOLIA_PRIVATE_KEY
 *
 * VERIML_TREASURY overrides the treasury (default: the deployer).
 */
import { network } from "hardhat";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";
import { writeDeployment } from "./lib/deployments.js";
import { deployZkModule } from "./lib/zk.js";

const connection = await network.create();
const { ethers } = connection;
const [deployer] = await ethers.getSigners();
if (!deployer) throw new Error("no deployer account configured for this network");
const { chainId } = await ethers.provider.getNetwork();
const params = { ...DEFAULT_PARAMETERS, treasury: process.env.VERIML_TREASURY ?? deployer.address };

const suite = await deploySuite(deployer, params);
const zk = await deployZkModule(suite, deployer);
const file = await writeDeployment(chainId, {
  network: connection.networkName,
  chainId: chainId.toString(),
  deployer: deployer.address,
  deployedAt: new Date().toISOString(),
  parameters: params,
  contracts: {
    ModelRegistry: await suite.registry.getAddress(),
    StakingVault: await suite.vault.getAddress(),
    InferenceMarket: await suite.market.getAddress(),
    ZkModule: await zk.getAddress(),
  },
  models: {},
});
process.stdout.write(`deployed; addresses recorded in ${file}\n`);
