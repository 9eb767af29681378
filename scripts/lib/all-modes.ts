/**
 * A suite with the zk, optimistic and sampling modules, and verifier-gen builds registered in each of
 * the three modes (one model id per build and mode), for the e2e tests and the benchmark of users' own
 * models. Accounts: 0 deployer, 1 treasury, 2 user, 3.. operators.
 */
import type { JsonRpcProvider } from "ethers";
import { parseEther } from "ethers";
import { devAccount } from "./accounts.js";
import { DEFAULT_PARAMETERS, deploySuite, type Suite } from "./deploy.js";
import { MODE_OPTIMISTIC, deployOptimisticModule, registerOptimisticModel } from "./optimistic.js";
import { MODE_SAMPLING, deploySamplingModule, registerSamplingModel, type SamplingStack } from "./sampling.js";
import { MODE_ZK, deployZkModule, registerZkModel } from "./zk.js";

export const ALL_MODES = { zk: MODE_ZK, optimistic: MODE_OPTIMISTIC, sampling: MODE_SAMPLING } as const;
export type ModeName = keyof typeof ALL_MODES;
/** The optimistic challenge window of these registrations (an automining chain needs the clock moved). */
export const CHALLENGE_WINDOW = 3600;

export interface AllModesStack {
  suite: Suite;
  sampling: SamplingStack;
  /** Model id of each build in each mode. */
  ids: Map<string, Record<ModeName, bigint>>;
  /** The `models` entries of an operator config serving every registration. */
  served: { modelId: bigint; artifacts: string; modes: number[] }[];
}

export async function deployAllModes(provider: JsonRpcProvider, buildDirs: string[]): Promise<AllModesStack> {
  const deployer = devAccount(0, provider);
  const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: devAccount(1, provider).address });
  await deployZkModule(suite, deployer);
  await deployOptimisticModule(suite, deployer);
  const sampling = await deploySamplingModule(suite, deployer, {
    committee: {
      committeeSize: 3,
      slashBps: 10_000,
      commitWindow: 600,
      revealWindow: 600,
      validatorStake: parseEther("0.5"),
    },
    arbitrationTimeout: 3 * 3600,
  });
  const ids = new Map<string, Record<ModeName, bigint>>();
  const served: AllModesStack["served"] = [];
  for (const buildDir of buildDirs) {
    const common = {
      buildDir,
      artifactURI: `file://${buildDir}`,
      ethPrice: parseEther("0.01"),
      operatorStake: parseEther("1"),
    };
    const zk = await registerZkModel(suite.registry, deployer, common);
    const optimistic = await registerOptimisticModel(suite.registry, deployer, {
      ...common,
      challengeWindow: CHALLENGE_WINDOW,
      clock: 600,
      challengerBond: parseEther("0.1"),
    });
    const sampled = await registerSamplingModel(suite.registry, deployer, {
      ...common,
      config: {
        sampleBps: 10_000,
        verifierFeeBps: 5_000,
        samplerNoShowSlashBps: 2_000,
        maxDraws: 2,
        commitWindow: 600,
        revealWindow: 600,
        arbitrator: await sampling.committee.getAddress(),
      },
    });
    ids.set(buildDir, { zk: zk.modelId, optimistic: optimistic.modelId, sampling: sampled.modelId });
    served.push({ modelId: zk.modelId, artifacts: buildDir, modes: [MODE_ZK] });
    served.push({ modelId: optimistic.modelId, artifacts: buildDir, modes: [MODE_OPTIMISTIC] });
    served.push({ modelId: sampled.modelId, artifacts: buildDir, modes: [MODE_SAMPLING] });
  }
  return { suite, sampling, ids, served };
}
