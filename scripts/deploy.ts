/**
 * Deploys the marketplace core to the network chosen with --network and records the addresses in
 * deployments/<chainId>.json.
 *
 *   npx hardhat run scripts/deploy.ts                      # in-process chain (addresses are throwaway)
 *   npx hardhat run --network localhost scripts/deploy.ts  # a `npx hardhat node`
 *   npx hardhat run --network sepolia scripts/deploy.ts    # SEPOLIA_RPC_URL, SEPOLIA_PRIVATE_KEY
 *
 * VERIML_TREASURY overrides the treasury (default: the deployer).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";

const connection = await network.create();
const { ethers } = connection;
const [deployer] = await ethers.getSigners();
if (!deployer) throw new Error("no deployer account configured for this network");
const { chainId } = await ethers.provider.getNetwork();
const treasury = process.env.VERIML_TREASURY ?? deployer.address;
const params = { ...DEFAULT_PARAMETERS, treasury };

const suite = await deploySuite(deployer, params);
const record = {
  network: connection.networkName,
  chainId: chainId.toString(),
  deployer: deployer.address,
  deployedAt: new Date().toISOString(),
  parameters: params,
  contracts: {
    ModelRegistry: await suite.registry.getAddress(),
    StakingVault: await suite.vault.getAddress(),
    InferenceMarket: await suite.market.getAddress(),
  },
};
await mkdir("deployments", { recursive: true });
const file = `deployments/${chainId}.json`;
await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(record.contracts, null, 2)}\nrecorded in ${file}\n`);
