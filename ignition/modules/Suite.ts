/**
 * The whole veriml suite on one chain: registry, vault and market; the four verification modules (zk,
 * optimistic, sampling, quality) with the sampling module's two arbitrators (a staked committee and an
 * optimistic bisection game) and a RANDAO randomness source; every module authorised in the vault and
 * mapped to its mode id in the registry.
 *
 *   npx hardhat ignition deploy ignition/modules/Suite.ts --network localhost
 *   npx hardhat ignition deploy ignition/modules/Suite.ts --network sepolia --parameters ignition/parameters/sepolia.json
 *
 * Ignition records the addresses in ignition/deployments/chain-<chainId>/deployed_addresses.json: the file
 * the CLI, the client and the operator read (operator/src/deployment.ts). Every parameter below has a
 * default; a parameters file overrides them per network ({"VerimlSuite": {"protocolFeeBps": 100}}).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** Mode ids, as in contracts/libraries/Modes.sol. */
const MODE = { zk: 0, optimistic: 1, sampling: 2, quality: 3 } as const;

export default buildModule("VerimlSuite", (m) => {
  const owner = m.getAccount(0);
  const treasury = m.getParameter("treasury", owner);

  const registry = m.contract("ModelRegistry", [owner]);
  const vault = m.contract("StakingVault", [
    owner,
    m.getParameter("stakeAsset", "0x0000000000000000000000000000000000000000"),
    treasury,
    m.getParameter("unbondingDelaySeconds", 7 * 24 * 3600),
    m.getParameter("slashBeneficiaryShareBps", 5_000),
    // Each pool seat bonds this much, so sybil pool members cost capital.
    m.getParameter("minPoolStake", 10n ** 16n),
  ]);
  const market = m.contract("InferenceMarket", [
    owner,
    registry,
    vault,
    {
      treasury,
      protocolFeeBps: m.getParameter("protocolFeeBps", 250),
      noShowSlashBps: m.getParameter("noShowSlashBps", 1_000),
      claimWindow: m.getParameter("claimWindowSeconds", 600),
      maxCallbackGas: m.getParameter("maxCallbackGas", 500_000),
    },
  ]);
  m.call(vault, "setAuthorised", [market, true], { id: "AuthoriseMarket" });

  const randomness = m.contract("RandaoRandomness", [
    m.getParameter("randaoDelayBlocks", 2),
    m.getParameter("randaoBlocks", 3),
  ]);

  const zk = m.contract("ZkModule", [market, registry]);
  // Benchmark attestations of registered models (accuracy on a committed test set), read by consumers and the page.
  const benchmark = m.contract("BenchmarkRegistry", [registry]);
  m.call(registry, "setModeModule", [MODE.zk, zk], { id: "ModeZk" });

  const executor = m.contract("OneStepExecutor", []);
  const optimistic = m.contract("OptimisticModule", [
    owner,
    market,
    registry,
    vault,
    executor,
    m.getParameter("minChallengerBond", 10n ** 16n),
  ]);
  m.call(vault, "setAuthorised", [optimistic, true], { id: "AuthoriseOptimistic" });
  m.call(registry, "setModeModule", [MODE.optimistic, optimistic], { id: "ModeOptimistic" });

  const sampling = m.contract("SamplingModule", [
    owner,
    market,
    vault,
    randomness,
    // Above every allowed arbitrator's longest ruling plus the module's grace (SamplingModule checks it).
    m.getParameter("arbitrationTimeoutSeconds", 3 * 3600),
  ]);
  const committee = m.contract("SamplingCommittee", [
    owner,
    vault,
    randomness,
    market,
    {
      committeeSize: m.getParameter("committeeSize", 3),
      slashBps: m.getParameter("committeeSlashBps", 10_000),
      commitWindow: m.getParameter("committeeCommitWindowSeconds", 600),
      revealWindow: m.getParameter("committeeRevealWindowSeconds", 600),
      validatorStake: m.getParameter("validatorStake", 5n * 10n ** 17n),
    },
  ]);
  m.call(committee, "setClient", [sampling, true], { id: "CommitteeClient" });
  m.call(sampling, "setArbitratorAllowed", [committee, true], { id: "AllowCommittee" });
  const gameArbitrator = m.contract("OptimisticArbitrator", [
    owner,
    registry,
    executor,
    market,
    {
      postWindow: m.getParameter("arbitratorPostWindowSeconds", 600),
      clock: m.getParameter("arbitratorClockSeconds", 600),
      oneStepWindow: m.getParameter("arbitratorOneStepWindowSeconds", 600),
    },
  ]);
  m.call(gameArbitrator, "setClient", [sampling, true], { id: "GameArbitratorClient" });
  m.call(sampling, "setArbitratorAllowed", [gameArbitrator, true], { id: "AllowGameArbitrator" });
  m.call(vault, "setAuthorised", [sampling, true], { id: "AuthoriseSampling" });
  m.call(vault, "setAuthorised", [committee, true], { id: "AuthoriseCommittee" });
  m.call(registry, "setModeModule", [MODE.sampling, sampling], { id: "ModeSampling" });

  const quality = m.contract("QualityModule", [market, vault, randomness]);
  m.call(vault, "setAuthorised", [quality, true], { id: "AuthoriseQuality" });
  m.call(registry, "setModeModule", [MODE.quality, quality], { id: "ModeQuality" });

  return {
    registry,
    vault,
    market,
    randomness,
    zk,
    executor,
    optimistic,
    sampling,
    committee,
    gameArbitrator,
    quality,
    benchmark,
  };
});
