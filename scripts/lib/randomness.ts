import type { ContractRunner, Provider, Signer } from "ethers";
import { fulfilRandomness } from "../../operator/src/chain/randomness.js";
import { RandaoRandomness__factory } from "../../types/ethers-contracts/index.js";

/** RandaoRandomness defaults: first mixed block 2 blocks after the request, 3 consecutive blocks mixed. */
export const RANDAO_DELAY = 2;
export const RANDAO_BLOCKS = 3;

/** Deploys the default randomness source (RANDAO of future blocks, delivered with block headers). */
export async function deployRandomness(
  deployer: Signer,
  options: { delay?: number; blocks?: number } = {},
): Promise<string> {
  const source = await new RandaoRandomness__factory(deployer).deploy(
    options.delay ?? RANDAO_DELAY,
    options.blocks ?? RANDAO_BLOCKS,
  );
  await source.waitForDeployment();
  return source.getAddress();
}

interface Miner {
  mine(blocks?: number): Promise<void>;
}

/**
 * On a local chain: mines until every pending request of a RandaoRandomness `source` can be delivered, then
 * delivers them all with their block headers, as the operator bots' randomness keeper does. Returns how
 * many were delivered.
 */
export async function deliverPendingRandomness(
  miner: Miner,
  runner: ContractRunner & { provider: Provider | null },
  source: string,
): Promise<number> {
  await miner.mine(RANDAO_DELAY + RANDAO_BLOCKS + 1);
  const randao = RandaoRandomness__factory.connect(source, runner);
  const requested = await randao.queryFilter(randao.filters.RandomnessRequested(), 0);
  let sent = 0;
  for (const e of requested) {
    if (await fulfilRandomness(source, runner, e.args.requester, e.args.key)) sent++;
  }
  return sent;
}
