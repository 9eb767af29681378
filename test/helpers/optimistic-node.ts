// An optimistic market on a real `hardhat node` (JSON-RPC): the suite and the OptimisticModule deployed, one build
// registered in optimistic mode, and account 3 staked as the operator who serves it (the cheater of the dispute
// tests). Shared by the challenger and dispute tests.
import type { ChildProcess } from "node:child_process";
import { JsonRpcProvider, parseEther } from "ethers";
import { ResettingNonceManager } from "../../operator/src/chain/nonce.js";
import { devAccount } from "../../scripts/lib/accounts.js";
import { DEFAULT_PARAMETERS, deploySuite, type Suite } from "../../scripts/lib/deploy.js";
import { startHardhatNode } from "../../scripts/lib/hardhat-node.js";
import { deployOptimisticModule, registerOptimisticModel } from "../../scripts/lib/optimistic.js";
import type { OptimisticModule } from "../../types/ethers-contracts/index.js";

export const OPTIMISTIC_PRICE = parseEther("0.01");
export const OPTIMISTIC_STAKE = parseEther("1");

export interface OptimisticNode {
  node: ChildProcess;
  rpcUrl: string;
  provider: JsonRpcProvider;
  suite: Suite;
  optimistic: OptimisticModule;
  modelId: bigint;
}

export async function startOptimisticNode(buildDir: string, artifactURI: string): Promise<OptimisticNode> {
  const { child: node, rpcUrl } = await startHardhatNode();
  const provider = new JsonRpcProvider(rpcUrl, undefined, {
    polling: true,
    pollingInterval: 100,
    cacheTimeout: -1,
    staticNetwork: true,
  });
  const deployer = new ResettingNonceManager(devAccount(0, provider));
  const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: devAccount(1, provider).address });
  const optimistic = await deployOptimisticModule(suite, deployer);
  const { modelId } = await registerOptimisticModel(suite.registry, deployer, {
    buildDir,
    artifactURI,
    ethPrice: OPTIMISTIC_PRICE,
    operatorStake: OPTIMISTIC_STAKE,
    challengeWindow: 3600,
    clock: 1800,
    challengerBond: parseEther("0.5"),
  });
  const op = new ResettingNonceManager(devAccount(3, provider));
  await (await suite.vault.connect(op).stake(parseEther("5"), { value: parseEther("5") })).wait();
  await (await suite.vault.connect(op).setService(modelId, 0, true)).wait();
  return { node, rpcUrl, provider, suite, optimistic, modelId };
}
